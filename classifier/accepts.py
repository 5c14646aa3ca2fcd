"""What the classification slots accept from a `.keras` file trained elsewhere (`import_model`,
registry/model_import.py): raw RGB pixels of a fixed size `(batch, H, W, 3)` in, softmax
probabilities `(batch, classes)` out (each row sums to 1, at least two classes), and one class name
per output. Declared on ClassifierConfig (classifier/apps.py)."""

import numpy as np

from registry.model_import import Fit, ImportRefused, find_layer, io_shapes, predict_blank


def check(model):
    """Fit(input_size=[H, W], outputs=classes), preprocessing the mode of the model's Preprocess layer."""
    from .networks import Preprocess

    inputs, outputs = io_shapes(model)
    if len(inputs) != 4 or inputs[-1] != 3 or None in inputs[1:3]:
        raise ImportRefused(
            f"A classifier takes RGB images of a fixed size, (batch, height, width, 3); this model takes {inputs}."
        )
    if len(outputs) != 2 or outputs[1] is None or outputs[1] < 2:
        raise ImportRefused(
            f"A classifier outputs one probability per class, (batch, classes >= 2); this model outputs {outputs}."
        )
    probabilities = predict_blank(model, inputs[1:])
    if np.any(probabilities < -1e-6) or not np.allclose(probabilities.sum(axis=-1), 1.0, atol=1e-3):
        raise ImportRefused("A classifier must end in a softmax (probabilities summing to 1); this one does not.")
    preprocess = find_layer(model, lambda layer: isinstance(layer, Preprocess))
    return Fit(list(inputs[1:3]), outputs[1], preprocessing=preprocess.mode if preprocess else None)


def fit_class_names(outputs, names, source):
    """One name per output; no details to add."""
    if len(names) != outputs:
        raise ImportRefused(f"The model has {outputs} outputs but {source} gives {len(names)} class names.")
    return {}
