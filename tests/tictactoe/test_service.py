"""The agent as the site plays it: greedy moves and the values shown, from one batch computed at load.
(The stored games are tested through the consumer, test_consumers.py.)"""

import numpy as np

from tictactoe import service


def lowest_cell_first(boards):
    """Q-values preferring the lowest cell: 9, 8, ... 1."""
    return np.tile(np.arange(9, 0, -1, dtype=np.float32), (len(boards), 1))


def test_the_agent_plays_its_best_free_cell_and_shows_values_on_free_cells_only():
    agent = service.Agent(lowest_cell_first)
    cell, values = agent.choose("XO.......")
    assert cell == 2
    assert values == [None, None, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]


def test_no_values_once_the_game_is_over():
    assert service.Agent(lowest_cell_first).q_values("XXXOO....") is None


def test_a_position_off_the_table_is_asked_of_the_q_function():
    calls = []

    def counting(boards):
        calls.append(len(boards))
        return lowest_cell_first(boards)

    agent = service.Agent(counting)
    assert calls == [4520]  # every position with a move, in one batch
    assert agent.choose("XX.XX....")[0] == 2  # not reachable in play: one more call
    assert calls == [4520, 1]
