"""What the detection slots accept from a `.keras` file trained elsewhere (`import_model`,
registry/model_import.py): raw RGB pixels `(batch, S, S, 3)` in, the YOLO output
`(batch, G, G, B*5 + C)` out, with `S` a multiple of `G` and `C` class names (so `B = (channels -
C) / 5` boxes per cell). Declared on DetectorConfig (detector/apps.py)."""

from registry.model_import import Fit, ImportRefused, io_shapes, predict_blank


def check(model):
    """Fit(input_size=[S, S], outputs=channels, details={"grid": G})."""
    inputs, outputs = io_shapes(model)
    if len(inputs) != 4 or inputs[-1] != 3 or None in inputs[1:3] or inputs[1] != inputs[2]:
        raise ImportRefused(
            f"A detector takes square RGB images of a fixed size, (batch, S, S, 3); this model takes {inputs}."
        )
    if len(outputs) != 4 or None in outputs[1:] or outputs[1] != outputs[2]:
        raise ImportRefused(f"A detector outputs a YOLO grid, (batch, G, G, boxes*5 + classes); this model outputs {outputs}.")
    size, grid, channels = inputs[1], outputs[1], outputs[3]
    if size % grid:
        raise ImportRefused(f"The input size {size} is not a multiple of the output grid {grid}.")
    predict_blank(model, inputs[1:])
    return Fit([size, size], channels, {"grid": grid})


def fit_class_names(channels, names, source):
    """C names fit B*5 + C channels for some B >= 1: {"boxes": B}."""
    classes = len(names)
    if classes < 1 or channels <= classes or (channels - classes) % 5:
        raise ImportRefused(
            f"The model's {channels} output channels do not fit {classes} classes from {source} "
            f"(need boxes*5 + {classes})."
        )
    return {"boxes": (channels - classes) // 5}
