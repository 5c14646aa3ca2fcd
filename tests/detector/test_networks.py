"""The detectors' shapes: yolo26 is YOLO v1's 24 conv + 2 dense layers; tiny is small."""

import numpy as np
import pytest

from detector.networks import YOLO_V1_LAYERS, boxes_per_cell, build_tiny, build_yolo26, load_model, weight_layers


def test_yolo26_has_24_convolutional_and_2_dense_layers_and_a_grid_output():
    model = build_yolo26(image_size=64, grid=7, boxes=2, classes=20, dense_units=32)
    assert weight_layers(model) == (24, 2)
    assert model.output_shape == (None, 7, 7, 2 * 5 + 20)
    assert model.input_shape == (None, 64, 64, 3)


def test_yolo26_at_448_reduces_to_7_by_7_features_before_the_dense_layers():
    model = build_yolo26(dense_units=8)  # the default 448×448 input, small dense layer for speed
    assert model.input_shape == (None, 448, 448, 3)
    assert model.get_layer("flatten").input.shape[1:] == (7, 7, 1024)
    assert model.output_shape == (None, 7, 7, 30)
    assert sum(spec != "M" for spec in YOLO_V1_LAYERS) == 24


def test_yolo26_uses_leaky_relu_and_rejects_sizes_that_are_not_multiples_of_64():
    model = build_yolo26(image_size=64, dense_units=8)
    leaky = [layer for layer in model.layers if layer.__class__.__name__ == "LeakyReLU"]
    assert len(leaky) == 25 and all(layer.negative_slope == pytest.approx(0.1) for layer in leaky)
    with pytest.raises(ValueError):
        build_yolo26(image_size=100)


def test_tiny_output_shape_and_size():
    model = build_tiny(96, boxes=2, classes=5)
    assert model.output_shape == (None, 12, 12, 15)
    assert model.count_params() < 200_000
    assert build_tiny(128, grid=8, classes=3).output_shape == (None, 8, 8, 13)
    with pytest.raises(ValueError):
        build_tiny(96, grid=7)


def test_networks_take_raw_pixels_and_start_with_low_confidence():
    model = build_tiny(64, classes=4)
    out = np.asarray(model(np.full((2, 64, 64, 3), 255.0, "float32")))
    assert out.shape == (2, 8, 8, 14) and out.dtype == np.float32
    confidence = 1 / (1 + np.exp(-out[..., 4:10:5]))
    assert confidence.mean() < 0.2  # the head's bias starts every box near "no object"
    assert model.get_layer("rescale").scale == pytest.approx(1 / 255)


def test_last_layer_stays_float32_under_mixed_precision():
    import keras

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16")
    try:
        tiny = build_tiny(64, classes=2)
        yolo = build_yolo26(64, classes=2, dense_units=8)
    finally:
        keras.config.set_dtype_policy(previous)
    assert tiny.get_layer("conv1").compute_dtype == "float16"
    assert tiny.output.dtype == "float32" and yolo.output.dtype == "float32"


def test_a_saved_tiny_detector_loads_back_with_the_same_outputs_and_boxes_per_cell(tmp_path):
    model = build_tiny(image_size=32, grid=4, boxes=3, classes=5, width=8)
    model.save(tmp_path / "tiny.keras")
    loaded = load_model(tmp_path / "tiny.keras")
    pixels = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict_on_batch(pixels), model.predict_on_batch(pixels), rtol=1e-5, atol=1e-6)
    assert boxes_per_cell(loaded, 5) == 3
    with pytest.raises(ValueError, match="do not fit"):
        boxes_per_cell(loaded, 7)
