"""classifier/pretrained.py and `bootstrap --weights imagenet`: ImageNet base weights fetched from a
server on 127.0.0.1 into a temporary Keras cache with the project's downloader, then trained from.

The served file is a freshly built VGG16 base saved under Keras' file name; the only thing the
tests change is the checksum expected of it (the real file's would not match)."""

import hashlib
from io import StringIO

import numpy as np
import pytest
from django.core.management.color import no_style

from classifier import bootstrap, pretrained
from tests.deepboot.test_downloads import ArchiveServer

VGG16 = pretrained.IMAGENET_NOTOP["vgg16"]


@pytest.fixture(scope="module")
def vgg16_base_file(tmp_path_factory):
    """(bytes of a VGG16 base's weights in Keras' legacy .h5 layout, the base's weights)."""
    import keras

    keras.utils.set_random_seed(7)
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / VGG16.name
    base.save(path)  # a .h5 model file: what Keras' storage holds, weights by layer name
    return path.read_bytes(), base.get_weights()


@pytest.fixture
def mirror(vgg16_base_file, monkeypatch):
    """A server on 127.0.0.1 laid out like Keras' storage, holding the test VGG16 base; the
    checksum expected of it is the served file's."""
    data, _ = vgg16_base_file
    server = ArchiveServer()
    server.files["/keras-applications/" + VGG16.path] = data
    monkeypatch.setitem(pretrained.IMAGENET_NOTOP, "vgg16",
                        pretrained.WeightsFile(VGG16.path, "md5:" + hashlib.md5(data).hexdigest()))
    yield server
    server.close()


def test_weights_are_downloaded_into_the_keras_cache_and_then_found_there(mirror, vgg16_base_file, tmp_path):
    base_url = mirror.url("/keras-applications/")
    out = StringIO()
    path = pretrained.imagenet_weights("vgg16", base_url, tmp_path / "keras", stdout=out)
    assert path == tmp_path / "keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert path.read_bytes() == vgg16_base_file[0]
    assert "md5 checksum OK" in out.getvalue()
    assert len(mirror.requests) == 1

    again = StringIO()
    assert pretrained.imagenet_weights("vgg16", base_url, tmp_path / "keras", stdout=again) == path
    assert len(mirror.requests) == 1 and "already in the Keras cache" in again.getvalue()


def test_a_file_that_fails_its_checksum_is_refused_and_not_left_in_the_cache(mirror, monkeypatch, tmp_path):
    monkeypatch.setitem(pretrained.IMAGENET_NOTOP, "vgg16", pretrained.WeightsFile(VGG16.path, "md5:" + "0" * 32))
    with pytest.raises(pretrained.WeightsUnavailable, match="Checksum mismatch"):
        pretrained.imagenet_weights("vgg16", mirror.url("/keras-applications/"), tmp_path)
    assert not any((tmp_path / "models").iterdir())


def test_without_weights_the_demo_recipe_says_so_and_trains_from_scratch(mirror, settings, tmp_path):
    settings.DEEPBOOT_KERAS_WEIGHTS_URL = mirror.url("/elsewhere/")
    settings.KERAS_HOME = tmp_path
    out = StringIO()
    flags = bootstrap.recipe("vgg16", ["--scratch"], "imagenet", out, no_style())
    assert flags == ["--scratch"]
    assert "HTTP 404" in out.getvalue() and "from scratch instead" in out.getvalue()
    assert bootstrap.recipe("cnn9", ["--cnn9"], "imagenet", out, no_style()) == ["--cnn9"]


@pytest.mark.django_db
def test_bootstrap_with_imagenet_weights_fetches_them_and_trains_vgg16_from_them(
        mirror, vgg16_base_file, settings, tmp_path, monkeypatch):
    from classifier import networks
    from registry import registry

    settings.DEEPBOOT_KERAS_WEIGHTS_URL = mirror.url("/keras-applications/")
    settings.KERAS_HOME = tmp_path / "keras"
    monkeypatch.setattr(bootstrap, "DEMO_PER_CLASS", 4)
    monkeypatch.setattr(bootstrap, "DEMO_TRAINING", (("vgg16", ["--never-used"]),))
    # Two one-epoch stages; the second at rate 0, so the saved base must be the served weights
    # exactly (stage one trains the head only).
    monkeypatch.setitem(bootstrap.DEMO_IMAGENET_TRAINING, "vgg16", [
        "--image-size", "32", "--two-stage", "--epochs", "1", "--batch-size", "64", "--fine-tune-lr", "0",
        "--run-eagerly"])
    out = StringIO()
    bootstrap.make_demo(stdout=out, style=no_style(), weights="imagenet")

    record = registry.active_record("classification", "vgg16")
    weights_file = settings.KERAS_HOME / "models" / VGG16.name
    assert record.runs.get().arguments["weights"] == str(weights_file)
    assert weights_file.is_file() and len(mirror.requests) == 1
    model = networks.load_model(registry.absolute_path(record.path))
    for trained, served in zip(networks.base_of(model).get_weights(), vgg16_base_file[1], strict=True):
        np.testing.assert_array_equal(trained, served)
    assert "Stage 2" in out.getvalue()
    registry.clear_cache()
