"""The detectors: functions that return a `keras.Model` (no compile, no fit here).

Both take raw RGB pixels (0..255, float) of image_size × image_size and return the raw YOLO output
(batch, S, S, B*5 + C) in float32 (also under mixed precision); `detector.boxes.activate` turns it
into boxes, confidences and class probabilities, and `detector.loss` trains it.

- `build_yolo26`: YOLO v1's network (Redmon et al. 2016, fig. 3): 24 convolutional layers and 2
  fully connected ones, leaky ReLU (0.1), 448×448 input, 7×7 grid. Batch normalisation after
  each convolution (YOLO v2's addition) lets it train from scratch; `batch_norm=False` is v1.
- `build_tiny`: a small fully convolutional variant (five 3×3 convolutions and a 1×1 head) that
  trains in minutes and answers in milliseconds on a CPU; 96×96 input, 12×12 grid by default.

`load_model` is the one way the app reads a saved detector back (training's evaluation, the
`evaluate_detector` command and serving), and `boxes_per_cell` reads B back from its output.
"""

import keras
from keras import layers

# YOLO v1's convolutional stack: (filters, kernel, stride) or "M" for a 2×2 max-pool.
YOLO_V1_LAYERS = [
    (64, 7, 2), "M",
    (192, 3, 1), "M",
    (128, 1, 1), (256, 3, 1), (256, 1, 1), (512, 3, 1), "M",
    *[(256, 1, 1), (512, 3, 1)] * 4, (512, 1, 1), (1024, 3, 1), "M",
    *[(512, 1, 1), (1024, 3, 1)] * 2, (1024, 3, 1), (1024, 3, 2),
    (1024, 3, 1), (1024, 3, 1),
]
YOLO_V1_STRIDE = 64  # two strided convolutions and four max-pools


def output_channels(boxes, classes):
    """Channels per cell of the YOLO output: B × (x, y, w, h, confidence) + C class scores."""
    return boxes * 5 + classes


def _conv(x, filters, kernel, stride, batch_norm, name, bn_momentum=0.99):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=not batch_norm, name=name)(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.LeakyReLU(negative_slope=0.1, name=f"{name}_leaky")(x)


def build_yolo26(image_size=448, grid=7, boxes=2, classes=20, *, dense_units=4096, dropout=0.5,
                 batch_norm=True, name="yolo26"):
    """YOLO v1: 24 conv + 2 dense layers. image_size must be a multiple of 64 (448 -> 7×7 features).

    Returns a keras.Model: (batch, image_size, image_size, 3) raw pixels -> (batch, grid, grid,
    boxes*5 + classes) raw outputs, float32.
    """
    if image_size % YOLO_V1_STRIDE:
        raise ValueError(f"yolo26 needs an image size that is a multiple of {YOLO_V1_STRIDE}, not {image_size}")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    conv_index = 0
    for pool_index, spec in enumerate(YOLO_V1_LAYERS):
        if spec == "M":
            x = layers.MaxPooling2D(2, name=f"pool{pool_index}")(x)
            continue
        conv_index += 1
        x = _conv(x, *spec, batch_norm, name=f"conv{conv_index}")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, name="dense1")(x)
    x = layers.LeakyReLU(negative_slope=0.1, name="dense1_leaky")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    channels = output_channels(boxes, classes)
    head = layers.Dense(grid * grid * channels, dtype="float32", name="dense2")
    x = head(x)
    init_head_bias(head, boxes, classes)
    outputs = layers.Reshape((grid, grid, channels), dtype="float32", name="yolo_output")(x)
    return keras.Model(inputs, outputs, name=name)


def init_head_bias(layer, boxes, classes, confidence_prior=0.02):
    """Start every predictor's confidence near `confidence_prior` (most cells hold no object), so
    the first steps are not spent silencing the no-object term. The bias is a plain weight: saved
    models need nothing custom."""
    import numpy as np

    per_cell = np.zeros(output_channels(boxes, classes), dtype="float32")
    per_cell[4 : boxes * 5 : 5] = np.log(confidence_prior / (1 - confidence_prior))
    layer.bias.assign(np.tile(per_cell, int(layer.bias.shape[0]) // len(per_cell)))


def build_tiny(image_size=96, grid=None, boxes=2, classes=20, *, width=16, name="tiny"):
    """A small fully convolutional YOLO: 3×3 conv + BN + leaky ReLU blocks, max-pools down to the
    grid, two more 3×3 blocks and a 1×1 head.

    grid defaults to image_size / 8 (96 -> 12×12 cells of 8 pixels); image_size / grid must be a
    power of two (>= 2). `width` is twice the first block's filters (doubling per pool, capped at
    8×width). Batch-norm statistics follow quickly (momentum 0.9): demo runs are a few hundred steps. Returns a keras.Model:
    (batch, image_size, image_size, 3) raw pixels -> (batch, grid, grid, boxes*5 + classes), float32.
    """
    grid = grid or image_size // 8
    stride = image_size // grid
    if image_size % grid or stride < 2 or stride & (stride - 1):
        raise ValueError(f"tiny needs image_size / grid to be a power of two, not {image_size}/{grid}")
    pools = stride.bit_length() - 1
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    filters = width // 2
    for index in range(pools):
        filters = min(filters * 2, width * 8) if index else width // 2
        x = _conv(x, filters, 3, 1, True, name=f"conv{index + 1}", bn_momentum=0.9)
        x = layers.MaxPooling2D(2, name=f"pool{index + 1}")(x)
    top = min(width * 8, filters * 2)
    x = _conv(x, top, 3, 1, True, name=f"conv{pools + 1}", bn_momentum=0.9)
    x = _conv(x, top, 3, 1, True, name=f"conv{pools + 2}", bn_momentum=0.9)
    head = layers.Conv2D(output_channels(boxes, classes), 1, dtype="float32", name="yolo_output")
    outputs = head(x)
    init_head_bias(head, boxes, classes)
    return keras.Model(inputs, outputs, name=name)


def weight_layers(model):
    """(convolutional, dense) layer counts: the layers the book counts."""
    conv = sum(isinstance(layer, layers.Conv2D) for layer in model.layers)
    dense = sum(isinstance(layer, layers.Dense) for layer in model.layers)
    return conv, dense


def load_model(path):
    """A saved detector (.keras), without its optimizer: it is only evaluated or served. Both
    networks are built from stock Keras layers, so no custom objects are needed."""
    return keras.saving.load_model(path, compile=False)


def boxes_per_cell(model, n_classes):
    """B of a YOLO model, from its output channels (B*5 + C)."""
    channels = int(model.output_shape[-1])
    if (channels - n_classes) % 5 or channels <= n_classes:
        raise ValueError(f"output channels {channels} do not fit {n_classes} classes")
    return (channels - n_classes) // 5
