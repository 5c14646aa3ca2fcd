"""Fixtures of the security tests: a real (tiny, untrained) DQN agent for the tic-tac-toe socket."""

from pathlib import Path

import pytest
from django.conf import settings

# Plain asserts in the shared checkers report their values, as in the tests themselves.
pytest.register_assert_rewrite("tests.security.game_rules", "tests.security.servers")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users are made in many of these tests; a fast hasher keeps them quick (not a security test of hashing)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_model_cache():
    """Each test's registry rows are rolled back, so their ids come again in the next test: forget
    the models loaded in this process, or a row of a later test would get an earlier test's model."""
    from registry import registry

    registry.clear_cache()
    yield
    registry.clear_cache()


@pytest.fixture(scope="session")
def dqn_file():
    """A small DQN (the app's own network function, untrained) saved once per test run."""
    path = Path(settings.MODELS_DIR) / "tictactoe" / "security-tests" / "dqn.keras"
    if not path.exists():
        import keras

        from tictactoe import networks

        keras.utils.set_random_seed(7)
        networks.save(networks.build_q_network(hidden_units=16), str(path))
    return path


@pytest.fixture
def active_dqn(dqn_file):
    """The DQN registered as the active tic-tac-toe agent (tests using it are marked django_db)."""
    from registry import registry

    return registry.register("tictactoe", "dqn", dqn_file, activate=True, layers=3)


CLASS_NAMES = ["airplanes", "faces", "motorbikes"]


@pytest.fixture(scope="session")
def classifier_file():
    """A small cnn9 (the app's own network function, untrained, 32x32 input) saved once per test run."""
    path = Path(settings.MODELS_DIR) / "classification" / "security-tests" / "cnn9.keras"
    if not path.exists():
        import keras

        from classifier import networks

        keras.utils.set_random_seed(7)
        path.parent.mkdir(parents=True, exist_ok=True)
        networks.build_cnn9(input_shape=(32, 32, 3), num_classes=len(CLASS_NAMES)).save(path)
    return path


@pytest.fixture
def active_classifier(classifier_file):
    """The cnn9 registered as the active classifier (tests using it are marked django_db)."""
    from registry import registry

    return registry.register(
        "classification", "cnn9", classifier_file, activate=True, class_names=CLASS_NAMES,
        input_size=[32, 32], preprocessing="rescale", layers=9,
    )


DETECTION_CLASSES = ["circle", "square", "triangle"]


@pytest.fixture(scope="session")
def detector_file():
    """A tiny YOLO (the app's own network function, untrained, 64x64 input) saved once per test run."""
    path = Path(settings.MODELS_DIR) / "detection" / "security-tests" / "tiny.keras"
    if not path.exists():
        import keras

        from detector import networks

        keras.utils.set_random_seed(7)
        path.parent.mkdir(parents=True, exist_ok=True)
        networks.build_tiny(image_size=64, classes=len(DETECTION_CLASSES), width=8).save(path)
    return path


@pytest.fixture
def active_detector(detector_file):
    """The tiny detector registered as the active one (tests using it are marked django_db)."""
    from registry import registry

    return registry.register(
        "detection", "tiny", detector_file, activate=True, class_names=DETECTION_CLASSES,
        input_size=[64, 64], layers=6,
    )


@pytest.fixture
def active_models(active_classifier, active_detector, active_dqn):
    """A model in every demo's slot."""
    return {"classification": active_classifier, "detection": active_detector, "tictactoe": active_dqn}
