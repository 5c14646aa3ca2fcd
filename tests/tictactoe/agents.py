"""Fixtures with the shipped DQN, for the tic-tac-toe tests and the browser tests."""

import pytest


@pytest.fixture(scope="session")
def shipped_dqn_file():
    """The DQN the app ships (tictactoe/pretrained/dqn.keras), copied under var/models/ once."""
    import shutil
    from pathlib import Path

    from django.conf import settings

    from tictactoe.bootstrap import PRETRAINED

    target = Path(settings.MODELS_DIR) / "tictactoe" / "tests" / "dqn.keras"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PRETRAINED / "dqn.keras", target)
    return target


@pytest.fixture
def active_agent(shipped_dqn_file):
    """The shipped DQN registered and active (tests using it are marked django_db)."""
    from registry import registry

    return registry.register("tictactoe", "dqn", shipped_dqn_file, activate=True, layers=3)
