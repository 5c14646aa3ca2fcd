"""Shared fixtures of the detector tests: demo scenes and one small detector trained once."""

import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings


class Quiet(io.StringIO):
    pass


@pytest.fixture(scope="session")
def demo_scenes(tmp_path_factory):
    """160 generated scenes in VOC layout, with the 80/10/10 split files."""
    from detector.demo_data import make_demo_data

    root = tmp_path_factory.mktemp("demo-scenes")
    make_demo_data(root, seed=7, images=160, stdout=Quiet())
    return root


@pytest.fixture(scope="session")
def trained_detector(demo_scenes, tmp_path_factory):
    """A tiny detector (64×64 input, 8×8 grid) trained briefly on the demo scenes, saved under
    var/models/. Returns the TrainResult (model path, class names, history)."""
    from detector.train import TrainConfig, train

    config = TrainConfig(data=str(demo_scenes), variant="tiny", epochs=8, batch_size=16, image_size=64,
                         grid=8, lr=5e-3, warmup_epochs=0.5, seed=1)
    out_dir = Path(settings.MODELS_DIR) / "detection" / "tests-trained"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    return train(config, out_dir, stdout=Quiet(), verbose=0)


@pytest.fixture
def active_detector(db, trained_detector):
    """The trained detector registered and active, with its data recorded (for the samples)."""
    from deepboot_site import registry
    from detector import service

    registry.clear_cache()
    service._samples_cache.clear()
    record = registry.register(
        "detection", "tiny", trained_detector.model_path, activate=True,
        class_names=trained_detector.class_names, input_size=[64, 64], layers=trained_detector.layers,
        metrics={"map50": trained_detector.val_map50},
        training_run={"data": str(Path(trained_detector.extra["config"]["data"]))},
    )
    yield record
    registry.clear_cache()
    service._samples_cache.clear()
