"""The three networks of the book's chapter 4, as functions returning an uncompiled `keras.Model`.

Every model has the same shape, so training, two-stage fine-tuning, serving and Grad-CAM treat
them alike:

    raw pixels (0-255, RGB, float32, H x W x 3)
      -> `preprocess`  (a `Preprocess` layer: each network's own input scaling, inside the model,
                        so a saved .keras file takes raw pixels)
      -> `base`        (a nested model: the convolutional feature extractor)
      -> `head_*`      (global average pooling, dropout, dense softmax in float32)

- `build_cnn9`: the book's 9-layer network (6 convolutions + 3 dense layers), trained from scratch.
- `build_vgg16`, `build_resnet152`: `keras.applications` bases (include_top=False) with a new head
  for the data set's classes. `weights` is None (from scratch), "imagenet" (downloaded by Keras on
  a machine with internet) or the path of a weights file for the base.

Two-stage training freezes `base` (`set_base_trainable(model, False)`), which also runs its batch
normalisation in inference mode, then unfreezes it. Fine-tuning keeps the base's batch
normalisation in inference mode in both stages, as keras-io's transfer-learning guide does by
calling the base with `training=False`: `set_base_trainable(model, True, batch_norm=False)`. (In
Keras 3 a functional model passes its own `training` to a nested model, overriding a
`training=False` written in the graph; a BatchNormalization layer that is not trainable runs in
inference mode whatever it is called with, so that is how it is done here.) Only `keras` and `keras.ops` are used, so the
models run on any Keras backend.
"""

import keras
from keras import layers, ops

ARCHITECTURES = ("cnn9", "vgg16", "resnet152")
# Weight layers as the book counts them (the names say it).
LAYERS = {"cnn9": 9, "vgg16": 16, "resnet152": 152}
PREPROCESSING = {"cnn9": "rescale", "vgg16": "caffe", "resnet152": "caffe"}
MIN_SIZE = 32

# ImageNet's channel means in BGR order, as keras.applications' "caffe" preprocessing uses them.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="deepboot")
class Preprocess(layers.Layer):
    """Raw 0-255 RGB pixels to what a network expects.

    mode "rescale": x / 255 (cnn9). mode "caffe": RGB -> BGR and ImageNet mean subtracted, the
    preprocessing VGG16 and ResNet152's ImageNet weights were trained with.
    """

    def __init__(self, mode="rescale", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("rescale", "caffe"):
            raise ValueError(f"Unknown preprocessing mode {mode!r}.")
        self.mode = mode

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        if self.mode == "rescale":
            return inputs / 255.0
        bgr = ops.flip(inputs, axis=-1)
        return bgr - ops.cast(ops.convert_to_tensor(_CAFFE_MEAN_BGR), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _check_input(input_shape, num_classes):
    height, width, channels = input_shape
    if channels != 3:
        raise ValueError("The networks take RGB images (3 channels).")
    if min(height, width) < MIN_SIZE:
        raise ValueError(f"Images must be at least {MIN_SIZE}x{MIN_SIZE} pixels, not {height}x{width}.")
    if num_classes < 2:
        raise ValueError("A classifier needs at least 2 classes.")


def _assemble(name, input_shape, num_classes, mode, base, dropout, hidden=(), weight_decay=0.0):
    """raw pixels -> preprocess -> base -> head (GAP, [dense…], dropout, softmax)."""
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
    inputs = keras.Input(shape=input_shape, name="image")
    x = Preprocess(mode, name="preprocess")(inputs)
    x = base(x)
    x = layers.GlobalAveragePooling2D(name="head_pool")(x)
    for index, units in enumerate(hidden, start=1):
        x = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"head_dense{index}")(x)
        x = layers.Dropout(dropout, name=f"head_dropout{index}")(x)
    if not hidden:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    # float32 softmax whatever the dtype policy, so mixed precision stays numerically sound.
    outputs = layers.Dense(
        num_classes, activation="softmax", dtype="float32", kernel_regularizer=regularizer, name="head_predictions"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def build_cnn9(input_shape=(224, 224, 3), num_classes=101, weight_decay=1e-4, dropout=0.5):
    """The book's 9-layer CNN: 3 blocks of 2 convolutions (32, 64, 128 filters, batch norm, ReLU,
    max pooling) and 3 dense layers (256, 256, classes), L2 weight decay and dropout."""
    _check_input(input_shape, num_classes)
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
    features = keras.Input(shape=input_shape, name="base_input")
    x = features
    conv = 0
    for filters in (32, 64, 128):
        for _ in range(2):
            conv += 1
            x = layers.Conv2D(
                filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizer, name=f"conv{conv}"
            )(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"conv{conv}_bn")(x)
            x = layers.Activation("relu", name=f"conv{conv}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"pool{conv // 2}")(x)
    base = keras.Model(features, x, name="base")
    return _assemble("cnn9", input_shape, num_classes, "rescale", base, dropout, hidden=(256, 256),
                     weight_decay=weight_decay)


def _application_weights(weights):
    """keras.applications' `weights`: None, "imagenet" or a file path (as a string)."""
    if weights in (None, "none", "None", ""):
        return None
    return str(weights)


def build_vgg16(input_shape=(224, 224, 3), num_classes=101, weights=None, dropout=0.5, weight_decay=0.0):
    """VGG16's 13 convolutions (keras.applications, include_top=False) and a new softmax head."""
    _check_input(input_shape, num_classes)
    base = keras.applications.VGG16(
        include_top=False, weights=_application_weights(weights), input_shape=input_shape
    )
    base.name = "base"
    return _assemble("vgg16", input_shape, num_classes, "caffe", base, dropout, weight_decay=weight_decay)


def build_resnet152(input_shape=(224, 224, 3), num_classes=101, weights=None, dropout=0.5, weight_decay=0.0,
                    bn_momentum=None):
    """ResNet152 (v1, keras.applications, include_top=False) and a new softmax head; `bn_momentum`
    replaces the momentum (Keras' 0.99) of the base's batch-norm moving averages.

    From scratch, the last batch norm of each of the 50 residual blocks starts with a zero scale
    (gamma), so every block starts as the identity and the network as a shallow one that deepens as
    it learns (Goyal et al., 2017, "Accurate, Large Minibatch SGD", section 5.1). With Keras' ones,
    50 blocks add their outputs from the first step on, and on the demo set the loss stays above
    chance's for epochs (BENCHMARKS.md)."""
    _check_input(input_shape, num_classes)
    application_weights = _application_weights(weights)
    base = keras.applications.ResNet152(include_top=False, weights=application_weights, input_shape=input_shape)
    base.name = "base"
    for layer in base.layers:
        if not isinstance(layer, layers.BatchNormalization):
            continue
        if bn_momentum is not None:
            layer.momentum = bn_momentum
        if application_weights is None and layer.name.endswith("_3_bn"):  # convK_blockN_3_bn: a block's last
            layer.gamma.assign(ops.zeros_like(layer.gamma))
    return _assemble("resnet152", input_shape, num_classes, "caffe", base, dropout, weight_decay=weight_decay)


def build(arch, input_shape, num_classes, *, weights=None, weight_decay=1e-4, dropout=0.5, bn_momentum=None):
    """One of ARCHITECTURES by name. cnn9 always starts from scratch (it has no ImageNet weights);
    `bn_momentum` is for resnet152's base (cnn9's batch norms have 0.9; vgg16 has none)."""
    if arch == "cnn9":
        if _application_weights(weights) is not None:
            raise ValueError("cnn9 has no pre-trained weights: use --weights none.")
        return build_cnn9(input_shape, num_classes, weight_decay=weight_decay, dropout=dropout)
    if arch == "vgg16":
        return build_vgg16(input_shape, num_classes, weights=weights, dropout=dropout)
    if arch == "resnet152":
        return build_resnet152(input_shape, num_classes, weights=weights, dropout=dropout, bn_momentum=bn_momentum)
    raise ValueError(f"Unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}.")


def base_of(model):
    return model.get_layer("base")


def set_base_trainable(model, trainable, batch_norm=None):
    """Freeze (False) or unfreeze (True) the feature extractor; the head stays trainable.
    batch_norm=False keeps the base's BatchNormalization layers frozen, in inference mode (their
    moving statistics and scale/offset untouched) even when the rest of the base trains.
    Recompile afterwards for the change to take effect in training."""
    base = base_of(model)
    base.trainable = trainable
    if batch_norm is not None:
        for layer in _sublayers(base):
            if isinstance(layer, layers.BatchNormalization):
                layer.trainable = batch_norm and trainable


def _sublayers(layer):
    for child in getattr(layer, "layers", ()):
        yield child
        yield from _sublayers(child)


def gradcam_layer(model):
    """The base's last layer with a spatial (4-D) output that is not a pooling layer: where
    Grad-CAM looks (cnn9: conv6_relu, vgg16: block5_conv3, resnet152: conv5_block3_out)."""
    base = base_of(model)
    for layer in reversed(base.layers):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4 and "pool" not in layer.name:
            return layer
    raise ValueError("The model's base has no spatial layer for Grad-CAM.")


def count_parameters(model):
    return int(model.count_params())


def load_model(path):
    """Load a saved classifier (.keras); the `Preprocess` layer is registered by importing this module."""
    return keras.saving.load_model(path, compile=False, custom_objects={"Preprocess": Preprocess})
