"""Demo scenes and a briefly trained tiny detector, made once per test run.

Both live under this run's var folder and are reused when present, so the detector tests and the
browser test (tests/browser/test_detect.py, which imports these fixtures) share one training. Under
pytest-xdist the detector is trained once for all the workers (`once_per_run`) and copied into each
worker's models folder."""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import once_per_run

SCENES = 160
# Without augmentation the 128 training scenes are learnt within ~130 steps: confident boxes to test with.
CONFIG = dict(variant="tiny", epochs=16, batch_size=16, image_size=64, grid=8, lr=5e-3, warmup_epochs=0.5, seed=1,
              augment=False)


def demo_scenes_dir():
    """160 generated scenes (seed 7) in VOC layout with the 80/10/10 split files."""
    from detector.demo_data import make_demo_data

    root = Path(settings.DATA_DIR) / "tests-demo-scenes"
    if not (root / "ImageSets" / "Main" / "test.txt").is_file():
        if root.exists():
            shutil.rmtree(root)
        make_demo_data(root, seed=7, images=SCENES, stdout=io.StringIO())
    return root


def trained_tiny(scenes, out_dir=None):
    """The TrainResult of a tiny detector (64×64, 8×8 grid, 16 short epochs) trained on the scenes,
    saved in `out_dir` (default: this run's models folder) with a result.json that finds it again."""
    from deepboot.hooks import TrainHooks
    from detector.train import TrainConfig, train

    out_dir = Path(out_dir or Path(settings.MODELS_DIR) / "detection" / "tests-trained")
    if (out_dir / "result.json").is_file():
        return saved_result(out_dir, scenes)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    result = train(TrainConfig(data=str(scenes), **CONFIG), out_dir, TrainHooks(verbose=0))
    (out_dir / "result.json").write_text(json.dumps({**result.__dict__, "model_path": result.model_path.name,
                                                     "curves_path": result.curves_path.name}))
    return result


def saved_result(folder, scenes):
    """The TrainResult that result.json in `folder` records, its files in `folder` and its data `scenes`
    (the same generated scenes wherever a worker made them)."""
    from detector.train import TrainResult

    fields = json.loads((folder / "result.json").read_text())
    fields["extra"]["config"]["data"] = str(scenes)
    return TrainResult(**{**fields, "model_path": folder / fields["model_path"],
                          "curves_path": folder / fields["curves_path"]})


@pytest.fixture(scope="session")
def demo_scenes():
    return demo_scenes_dir()


@pytest.fixture(scope="session")
def trained_detector(demo_scenes, tmp_path_factory):
    shared = once_per_run(tmp_path_factory, "trained-detector", lambda folder: trained_tiny(demo_scenes, folder))
    if shared is None:
        return trained_tiny(demo_scenes)
    local = Path(settings.MODELS_DIR) / "detection" / "tests-trained"  # the registry keeps models under it
    if not local.exists():
        shutil.copytree(shared, local)
    return saved_result(local, demo_scenes)


def register_active(result):
    from registry import registry
    from detector import service

    registry.clear_cache()
    service._samples_cache.clear()
    return registry.register(
        "detection", "tiny", result.model_path, activate=True, class_names=result.class_names,
        input_size=[CONFIG["image_size"]] * 2, layers=result.layers, metrics={"map50": result.val_map50},
        training_run={"data": result.extra["config"]["data"]},
    )


@pytest.fixture
def active_detector(db, trained_detector):
    """The trained detector registered and active, its data recorded (the page's samples)."""
    from registry import registry
    from detector import service

    yield register_active(trained_detector)
    registry.clear_cache()
    service._samples_cache.clear()
