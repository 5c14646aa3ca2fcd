"""Shared fixtures of the tic-tac-toe tests."""

import numpy as np
import pytest

from tictactoe.positions import position_table


@pytest.fixture(scope="session")
def perfect_q():
    """Exact Q-values by value iteration over the position table (what the DQN learns to approximate)."""
    table = position_table()
    q = np.zeros((table.size, 9), dtype=np.float32)
    for _ in range(10):  # the game lasts at most 5 moves per side
        q = np.nan_to_num(table.bellman_targets(q, 2.0), nan=-9.0)
    return lambda boards: q[table.ids(list(boards))]


@pytest.fixture(scope="session")
def shipped_dqn_file():
    """The DQN the app ships (tictactoe/pretrained/dqn.keras), copied under var/models/ once."""
    import shutil
    from pathlib import Path

    from django.conf import settings

    from tictactoe.demo import PRETRAINED

    target = Path(settings.MODELS_DIR) / "tictactoe" / "tests" / "dqn.keras"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PRETRAINED / "dqn.keras", target)
    return target


@pytest.fixture
def active_agent(shipped_dqn_file):
    """The shipped DQN registered and active (tests using it are marked django_db)."""
    from deepboot_site import registry

    return registry.register("tictactoe", "dqn", shipped_dqn_file, activate=True, layers=3)
