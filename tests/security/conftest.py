"""Fixtures of the security tests: a real (tiny, untrained) DQN agent for the tic-tac-toe socket."""

from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made in many of these tests; a fast hasher keeps them quick (not a security test of hashing)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def dqn_file():
    """A small DQN (the app's own network function, untrained) saved once per test run."""
    path = Path(settings.MODELS_DIR) / "tictactoe" / "security-tests" / "dqn.keras"
    if not path.exists():
        import keras

        from tictactoe import dqn

        keras.utils.set_random_seed(7)
        dqn.save(dqn.build_q_network(hidden_units=16), str(path))
    return path


@pytest.fixture
def active_dqn(dqn_file):
    """The DQN registered as the active tic-tac-toe agent (tests using it are marked django_db)."""
    from deepboot_site import registry

    return registry.register("tictactoe", "dqn", dqn_file, activate=True, layers=3)
