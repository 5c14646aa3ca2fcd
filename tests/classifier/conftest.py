"""Shared fixtures of the classifier tests: a tiny generated data set, and one tiny model per
architecture trained once per session (one step each, 32x32 images), registered per test."""

import io
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from deepboot_site import registry

SIZE = 32


def tiny_config(arch, data, **overrides):
    from classifier.trainer import TrainConfig

    values = dict(arch=arch, data=str(data), epochs=1, batch_size=64, image_size=SIZE, eager=True, patience=2)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """6 classes x 6 generated JPEGs (split: 4 train, 1 validation, 1 test per class)."""
    from classifier.demo_data import make_demo_data

    return make_demo_data(tmp_path_factory.mktemp("demo") / "data", seed=3, per_class=6)


@pytest.fixture(scope="session")
def trained(demo_data):
    """{arch: TrainResult}: each architecture trained for one step (one batch holds the training set)."""
    from classifier import trainer

    results = {}
    for arch in ("cnn9", "vgg16", "resnet152"):
        out_dir = Path(settings.MODELS_DIR) / "classification" / f"session-{arch}"
        results[arch] = trainer.train(tiny_config(arch, demo_data, recalibrate_bn=arch == "resnet152"), out_dir)
    return results


def register_trained(trained, archs, activate=True):
    """Registry rows (active) for the session's tiny models; the registry's cache is cleared."""
    from classifier import networks

    registry.clear_cache()
    records = {}
    for arch in archs:
        result = trained[arch]
        records[arch] = registry.register(
            "classification", arch, result.model_path, activate=activate,
            class_names=result.class_names, input_size=[SIZE, SIZE], layers=networks.LAYERS[arch],
            preprocessing=networks.PREPROCESSING[arch], metrics=result.metrics,
            training_run={"split_file": registry.relative_path(result.split_path)},
        )
    return records


@pytest.fixture
def two_models(db, trained):
    """cnn9 and vgg16 active (resnet152's slot empty): cheap to load in the test process."""
    records = register_trained(trained, ("cnn9", "vgg16"))
    yield records
    registry.clear_cache()


def image_bytes(fmt="PNG", size=(40, 30), colour=(200, 30, 30), mode="RGB", **save):
    buffer = io.BytesIO()
    Image.new(mode, size, colour if mode != "L" else 128).save(buffer, fmt, **save)
    return buffer.getvalue()


def png_is_valid(path_or_bytes):
    data = Path(path_or_bytes).read_bytes() if not isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
        return image.format == "PNG" and image.size[0] > 10 and image.size[1] > 10


def random_pixels(n=2, size=SIZE, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")
