"""The agent as the site plays it: greedy moves and the values shown, from one batch computed at load
(the network's own values)."""

import numpy as np

from tictactoe import networks
from tictactoe.agent import Agent
from tictactoe.evaluate import positions_to_move
from tictactoe.positions import encode


def lowest_cell_first(boards):
    """Q-values preferring the lowest cell: 9, 8, ... 1."""
    return np.tile(np.arange(9, 0, -1, dtype=np.float32), (len(boards), 1))


def test_the_agent_plays_its_best_free_cell_and_shows_values_on_free_cells_only():
    agent = Agent(lowest_cell_first)
    cell, values = agent.choose("XO.......")
    assert cell == 2
    assert values == [None, None, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]


def test_no_values_once_the_game_is_over():
    assert Agent(lowest_cell_first).q_values("XXXOO....") is None


def counted(q_function):
    """(the q_function, the list of each call's batch size)."""
    calls = []

    def function(boards):
        calls.append(len(boards))
        return q_function(boards)

    return function, calls


def test_a_position_off_the_table_is_asked_of_the_q_function():
    function, calls = counted(lowest_cell_first)
    agent = Agent(function)
    assert calls == [4520]  # every position with a move, in one batch
    assert agent.choose("XX.XX....")[0] == 2  # not reachable in play: one more call
    assert calls == [4520, 1]


def test_the_table_holds_the_networks_own_values_for_every_position_with_a_move(shipped_dqn_file):
    model = networks.load_model(shipped_dqn_file)
    function, calls = counted(networks.q_function(model))
    agent = Agent(function)
    boards = list(positions_to_move())
    # The network asked again, apart from the agent, on the boards in the opposite order.
    expected = networks.q_values_of(model, encode(boards[::-1]))[::-1]
    table = np.array([agent.q_row(board) for board in boards])
    assert calls == [len(boards)]  # one batch at load; every lookup after it is the table's
    np.testing.assert_allclose(table, expected, rtol=1e-6, atol=1e-6)
    for board, row in zip(boards, expected):
        assert agent.q_values(board) == [round(float(row[c]), 4) if board[c] == "." else None for c in range(9)]
