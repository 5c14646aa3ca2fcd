"""Shared fixtures of the tic-tac-toe tests."""

import numpy as np
import pytest

from tests.tictactoe.agents import active_agent, shipped_dqn_file  # noqa: F401  (shared with tests/browser)
from tictactoe.positions import position_table


@pytest.fixture(scope="session")
def perfect_q():
    """Exact Q-values by value iteration over the position table (what the DQN learns to approximate)."""
    table = position_table()
    q = np.zeros((table.size, 9), dtype=np.float32)
    for _ in range(10):  # the game lasts at most 5 moves per side
        q = np.nan_to_num(table.bellman_targets(q, 2.0), nan=-9.0)
    return lambda boards: q[table.ids(list(boards))]

