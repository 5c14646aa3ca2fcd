"""Grad-CAM (Selvaraju et al.) for the classifiers: where a network looked for its top class.

Every classifier is `preprocess -> base -> head` (networks.py), so one recipe serves all three:
a model from the base's input to its last spatial layer's output (`networks.gradcam_layer`) and
its own output, the head applied after it, and one gradient tape over both. The parts of each
served model are built once per process and cached. No Django: service.py calls `heatmap` and
`data_url` for a request with Grad-CAM.
"""

import base64
import io
import threading

import numpy as np
from PIL import Image

MAX_CACHED = 6  # twice the three served networks

_parts_cache = {}
_lock = threading.Lock()


def _parts(model):
    """(preprocess layer, model from base input to (target conv output, base output), head layers)."""
    import keras

    from . import networks

    key = id(model)
    with _lock:
        if key not in _parts_cache:
            if len(_parts_cache) >= MAX_CACHED:  # models replaced by newer activations
                _parts_cache.clear()
            base = networks.base_of(model)
            target = networks.gradcam_layer(model)
            inner = keras.Model(base.inputs, [target.output, base.output])
            head = [layer for layer in model.layers if layer.name.startswith("head_")]
            # The model itself is kept with its parts, so its id cannot be reused while cached.
            _parts_cache[key] = (model, (model.get_layer("preprocess"), inner, head))
        return _parts_cache[key][1]


def heatmap(model, batch, class_index=None):
    """Grad-CAM (Selvaraju et al.): the target layer's channels weighted by the mean gradient of
    the class score, ReLU, scaled to [0, 1]. One forward pass gives the model's output too, so a
    request with Grad-CAM costs one backward pass more than one without.

    -> (probabilities: (classes,) float64, heatmap: (h, w) float array), for `class_index` or, by
    default, the top class. TensorFlow backend."""
    import tensorflow as tf

    preprocess, inner, head = _parts(model)
    inputs = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        conv, features = inner(preprocess(inputs), training=False)
        x = features
        for layer in head:
            x = layer(x, training=False)
        probabilities = np.asarray(x[0], dtype=np.float64)
        index = int(np.argmax(probabilities)) if class_index is None else class_index
        score = x[:, index]
    gradients = tape.gradient(score, conv)
    weights = tf.reduce_mean(tf.cast(gradients, tf.float32), axis=(0, 1, 2))
    heat = tf.nn.relu(tf.reduce_sum(tf.cast(conv[0], tf.float32) * weights, axis=-1)).numpy()
    peak = float(heat.max())
    return probabilities, (heat / peak if peak > 0 else heat)


def overlay(image, heatmap, max_side=256, alpha=0.45):
    """The heat map (jet colours) blended over a thumbnail of the image, as PNG bytes."""
    from matplotlib import colormaps

    thumbnail = image.convert("RGB").copy()
    thumbnail.thumbnail((max_side, max_side))
    colours = (colormaps["jet"](heatmap)[..., :3] * 255).astype(np.uint8)
    heat = Image.fromarray(colours).resize(thumbnail.size, Image.BILINEAR)
    blended = Image.blend(thumbnail, heat, alpha)
    buffer = io.BytesIO()
    blended.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def data_url(image, heatmap):
    """The overlay as a data: URL of a PNG, for the API's JSON and the page."""
    png = overlay(image, heatmap)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
