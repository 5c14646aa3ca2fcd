"""classifier/networks.py: the three networks' shapes, preprocessing inside, heads, weights files."""

import keras
import numpy as np
import pytest

from classifier import networks
from tests.classifier.conftest import random_pixels


@pytest.fixture(scope="module")
def built():
    return {arch: networks.build(arch, (32, 32, 3), 4) for arch in networks.ARCHITECTURES}


@pytest.mark.parametrize("arch", networks.ARCHITECTURES)
def test_each_network_maps_raw_pixels_to_a_softmax_over_the_classes(built, arch):
    model = built[arch]
    out = np.asarray(model(random_pixels(3), training=False))  # eagerly: tracing ResNet152 to predict costs 6 s
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-4)
    assert model.get_layer("head_predictions").dtype_policy.name == "float32"
    assert model.get_layer("preprocess").mode == networks.PREPROCESSING[arch]


def test_cnn9_has_six_convolutions_and_three_dense_layers(built):
    model = built["cnn9"]
    convs = [l for l in networks.base_of(model).layers if isinstance(l, keras.layers.Conv2D)]
    dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    assert len(convs) + len(dense) == 9 == networks.LAYERS["cnn9"]
    assert all(l.kernel_regularizer is not None for l in convs)


def test_vgg16_and_resnet152_bases_are_keras_applications_without_their_top(built):
    vgg = networks.base_of(built["vgg16"])
    assert sum(isinstance(l, keras.layers.Conv2D) for l in vgg.layers) == 13
    resnet = networks.base_of(built["resnet152"])
    assert sum(isinstance(l, keras.layers.Conv2D) for l in resnet.layers) == 155  # 151 + 4 projection shortcuts
    assert not any(l.name == "predictions" for l in vgg.layers + resnet.layers)


def test_preprocessing_modes_match_keras_applications():
    pixels = random_pixels(2)
    caffe = networks.Preprocess("caffe")(pixels)
    np.testing.assert_allclose(np.asarray(caffe), keras.applications.vgg16.preprocess_input(pixels.copy()), atol=1e-3)
    np.testing.assert_allclose(np.asarray(networks.Preprocess("rescale")(pixels)), pixels / 255.0, rtol=1e-6)
    with pytest.raises(ValueError):
        networks.Preprocess("torch")


def test_gradcam_layer_is_the_last_spatial_layer_of_the_base(built):
    assert networks.gradcam_layer(built["cnn9"]).name == "conv6_relu"
    assert networks.gradcam_layer(built["vgg16"]).name == "block5_conv3"
    assert networks.gradcam_layer(built["resnet152"]).name == "conv5_block3_out"


def test_freezing_the_base_leaves_only_the_head_trainable(built):
    model = built["cnn9"]
    networks.set_base_trainable(model, False)
    try:
        names = {w.path.split("/")[0] for w in model.trainable_weights}
        assert names and all(name.startswith("head_") for name in names)
    finally:
        networks.set_base_trainable(model, True)
    assert len(model.trainable_weights) > 6


def test_a_saved_model_takes_raw_pixels_and_loads_with_its_preprocessing(built, tmp_path):
    model = built["cnn9"]
    model.save(tmp_path / "m.keras")
    loaded = networks.load_model(tmp_path / "m.keras")
    pixels = random_pixels(2, seed=5)
    np.testing.assert_allclose(loaded.predict_on_batch(pixels), model.predict_on_batch(pixels), atol=1e-5)


def test_base_weights_come_from_a_weights_file(tmp_path):
    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    reference.save_weights(path)
    model = networks.build_vgg16((32, 32, 3), 3, weights=str(path))
    for mine, theirs in zip(networks.base_of(model).weights, reference.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def _block_scales(model):
    """{batch-norm name: its gammas' distinct values} of the base."""
    return {l.name: set(np.unique(np.asarray(l.gamma))) for l in networks.base_of(model).layers
            if isinstance(l, keras.layers.BatchNormalization)}


def test_resnet152_from_scratch_starts_every_residual_block_as_the_identity(built):
    scales = _block_scales(built["resnet152"])
    last = {name for name in scales if name.endswith("_3_bn")}
    assert len(last) == 50  # 3 + 8 + 36 + 3 bottleneck blocks
    assert all(scales[name] == {0.0} for name in last)
    assert all(scales[name] == {1.0} for name in scales.keys() - last)


def test_resnet152_from_a_weights_file_keeps_its_scales_and_takes_the_momentum(tmp_path):
    reference = keras.applications.ResNet152(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "resnet152_notop.weights.h5"
    reference.save_weights(path)
    model = networks.build("resnet152", (32, 32, 3), 3, weights=str(path), bn_momentum=0.9)
    assert all(values == {1.0} for values in _block_scales(model).values())
    norms = [l for l in networks.base_of(model).layers if isinstance(l, keras.layers.BatchNormalization)]
    assert {l.momentum for l in norms} == {0.9}


def test_mixed_precision_keeps_the_softmax_in_float32():
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = networks.build_cnn9((32, 32, 3), 3)
        assert networks.base_of(model).get_layer("conv1").compute_dtype == "float16"
        assert model.output.dtype == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least 32"):
        networks.build_cnn9((16, 16, 3), 3)
    with pytest.raises(ValueError, match="2 classes"):
        networks.build_cnn9((32, 32, 3), 1)
    with pytest.raises(ValueError, match="no pre-trained weights"):
        networks.build("cnn9", (32, 32, 3), 3, weights="imagenet")
    with pytest.raises(ValueError, match="Unknown architecture"):
        networks.build("alexnet", (32, 32, 3), 3)
