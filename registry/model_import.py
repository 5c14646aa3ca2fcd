"""Checking a `.keras` file trained elsewhere before it joins the registry (`import_model`).

`inspect(path, task, class_names)` loads the file the way the site will serve it and checks that
it fits the task's service:

- classification: raw RGB pixels `(batch, H, W, 3)` in, `(batch, classes)` softmax probabilities
  out (each row sums to 1), at least two classes, one class name per output;
- detection: raw RGB pixels `(batch, S, S, 3)` in, the YOLO output `(batch, G, G, B*5 + C)` out,
  with `S` a multiple of `G` and `C` class names (so `B = (channels - C) / 5` boxes per cell);
- tictactoe: the board from the side to move `(batch, 18)` in, one Q-value per cell `(batch, 9)` out.

Given the slot, it checks the architecture the slot declares it accepts (registry/slots.py):
the network's own name and weight-layer count; a network named for another task's slot is refused
as the wrong task.

It runs one prediction on a blank input to prove the model computes, and returns what the registry
keeps (input size, preprocessing, weight layers, parameters, sha256). Errors are `ImportRefused`
with one sentence a person can act on. No Django here.
"""

import hashlib
import zipfile
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np

TASKS = ("classification", "detection", "tictactoe")
# Modules that register the custom layers a task's saved models may hold (e.g. classifier's
# `Preprocess`), imported before loading, as the apps' services do. The slots the apps declare
# name theirs too (Slot.custom_objects); these are the defaults when no slot is given.
CUSTOM_OBJECT_MODULES = {
    "classification": ("classifier.networks",),
    "detection": ("detector.networks",),
    "tictactoe": ("tictactoe.dqn",),
}
TICTACTOE_INPUT, TICTACTOE_OUTPUT = 18, 9
# How much of a library's own error message a refusal quotes (Keras' can run to kilobytes).
QUOTE_CHARS = 160
# What a failed load of a damaged or foreign file raises (Keras, h5py, zipfile, JSON).
LOAD_ERRORS = (OSError, ValueError, TypeError, KeyError, AttributeError, EOFError, IndexError, zipfile.BadZipFile)


class ImportRefused(Exception):
    """The file cannot be served for this task; the message says why."""


@dataclass
class Inspection:
    """What the registry keeps of an imported model."""

    model: object
    input_size: list
    class_names: list
    preprocessing: str
    layers: int
    parameters: int
    outputs: int
    details: dict = field(default_factory=dict)
    sha256: str = ""


def read_class_names(path):
    """Class names from a file: a JSON list, or one name per line (blank lines and # comments skipped)."""
    import json

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"Cannot read the class names file {path}: {exc}") from None
    if text.lstrip().startswith("["):
        try:
            names = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"{path} is not a valid JSON list: {exc}") from None
        if not all(isinstance(name, str) for name in names):
            raise ImportRefused(f"{path} must list the class names as strings.")
    else:
        names = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    names = [name.strip() for name in names]
    if len(set(names)) != len(names) or not all(names):
        raise ImportRefused(f"{path}: class names must be unique and non-empty.")
    return names


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quote(exc):
    """A library's error as one short line: its class and the start of its first line."""
    text = str(exc).strip()
    short = text.splitlines()[0][:QUOTE_CHARS].rstrip() if text else ""
    return f"{exc.__class__.__name__}: {short}{'…' if short != text else ''}"


def check_archive(path):
    """Refuse a missing file, another suffix, or what is not a Keras archive, before Keras sees it."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"No such file: {path}")
    if path.suffix != ".keras":
        raise ImportRefused(f"{path.name} is not a .keras file (save the model with model.save('name.keras')).")
    try:
        with zipfile.ZipFile(path) as archive:
            archive.getinfo("config.json")
    except (zipfile.BadZipFile, OSError, KeyError):
        raise ImportRefused(f"{path.name} is not a Keras archive (a zip holding config.json and the weights).") from None


def load(path, task, custom_object_modules=None):
    """The model in `path`, loaded without its optimizer (safe mode: no arbitrary code).
    `custom_object_modules` (default: those of `task`) are imported first."""
    import keras

    path = Path(path)
    check_archive(path)
    modules = CUSTOM_OBJECT_MODULES.get(task, ()) if custom_object_modules is None else custom_object_modules
    for module in modules:
        import_module(module)
    try:
        model = keras.saving.load_model(path, compile=False)
    except LOAD_ERRORS as exc:
        raise ImportRefused(f"{path.name} does not load as a Keras model ({quote(exc)}).") from None
    if not isinstance(model, keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ImportRefused(f"{path.name} must hold a model with exactly one input and one output.")
    return model


def weight_layers(model):
    """Convolutional and dense layers, nested models included: the layers the book counts."""
    import keras

    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            count += weight_layers(layer)
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            count += 1
    return count


def preprocessing_of(model):
    """The input scaling inside the model, as the registry names it."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found = preprocessing_of(layer)
            if found:
                return found
        mode = getattr(layer, "mode", None)
        if layer.__class__.__name__ == "Preprocess" and mode:
            return str(mode)
        if isinstance(layer, keras.layers.Rescaling):
            return "rescale"
    return ""


def _shape(tensor):
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _predict_blank(model, shape):
    from keras import ops

    blank = np.zeros((1, *shape), dtype="float32")
    try:
        output = ops.convert_to_numpy(model(blank, training=False))
    except LOAD_ERRORS as exc:
        raise ImportRefused(f"The model fails on an input of shape {blank.shape} ({quote(exc)}).") from None
    if not np.all(np.isfinite(output)):
        raise ImportRefused("The model's output on a blank input is not finite (NaN or infinity).")
    return output


def _classification(model):
    inputs, outputs = _shape(model.inputs[0]), _shape(model.outputs[0])
    if len(inputs) != 4 or inputs[-1] != 3 or None in inputs[1:3]:
        raise ImportRefused(
            f"A classifier takes RGB images of a fixed size, (batch, height, width, 3); this model takes {inputs}."
        )
    if len(outputs) != 2 or outputs[1] is None or outputs[1] < 2:
        raise ImportRefused(f"A classifier outputs one probability per class, (batch, classes >= 2); this model outputs {outputs}.")
    probabilities = _predict_blank(model, inputs[1:])
    if np.any(probabilities < -1e-6) or not np.allclose(probabilities.sum(axis=-1), 1.0, atol=1e-3):
        raise ImportRefused("A classifier must end in a softmax (probabilities summing to 1); this one does not.")
    return list(inputs[1:3]), outputs[1], {}


def _detection(model):
    inputs, outputs = _shape(model.inputs[0]), _shape(model.outputs[0])
    if len(inputs) != 4 or inputs[-1] != 3 or None in inputs[1:3] or inputs[1] != inputs[2]:
        raise ImportRefused(
            f"A detector takes square RGB images of a fixed size, (batch, S, S, 3); this model takes {inputs}."
        )
    if len(outputs) != 4 or None in outputs[1:] or outputs[1] != outputs[2]:
        raise ImportRefused(f"A detector outputs a YOLO grid, (batch, G, G, boxes*5 + classes); this model outputs {outputs}.")
    size, grid, channels = inputs[1], outputs[1], outputs[3]
    if size % grid:
        raise ImportRefused(f"The input size {size} is not a multiple of the output grid {grid}.")
    _predict_blank(model, inputs[1:])
    return [size, size], channels, {"grid": grid}


def _tictactoe(model):
    inputs, outputs = _shape(model.inputs[0]), _shape(model.outputs[0])
    if inputs[1:] != (TICTACTOE_INPUT,) or outputs[1:] != (TICTACTOE_OUTPUT,):
        raise ImportRefused(
            f"A tic-tac-toe agent maps the board (batch, {TICTACTOE_INPUT}) to Q-values (batch, {TICTACTOE_OUTPUT}); "
            f"this model maps {inputs} to {outputs}."
        )
    _predict_blank(model, inputs[1:])
    return [TICTACTOE_INPUT], TICTACTOE_OUTPUT, {}


CHECKS = {"classification": _classification, "detection": _detection, "tictactoe": _tictactoe}


def names_fit(task, outputs, class_names):
    """Whether `class_names` fit a model of `task` with `outputs` output units (channels)."""
    if task == "classification":
        return len(class_names) == outputs
    if task == "detection":
        classes = len(class_names)
        return classes >= 1 and outputs > classes and (outputs - classes) % 5 == 0
    return True


def check_task(model, task, slots):
    """Refuse a network whose own name is that of another task's slot (and of none of this task's)."""
    here = {slot.network_name for slot in slots if slot.task == task}
    if model.name in here:
        return
    for slot in slots:
        if slot.task != task and slot.network_name == model.name:
            raise ImportRefused(
                f"This file holds a {slot.task} network ({model.name}), not a {task} one: "
                f"import it with --task {slot.task} --arch {slot.architecture}."
            )


def inspect(path, task, class_names=None, fallback_class_names=None, *, slot=None, slots=()):
    """Load `path` and check it fits `task` (and, given `slot`, its architecture; `slots`, every
    declared slot, lets a network of another task be named as such). `class_names` are the user's;
    `fallback_class_names` (those of the slot's current model) are used when they fit the model's
    output. Returns an Inspection, or raises ImportRefused."""
    if task not in CHECKS:
        raise ImportRefused(f"Unknown task {task!r}; choose from {', '.join(TASKS)}.")
    modules = tuple(dict.fromkeys(module for s in slots for module in s.custom_objects)) or None
    model = load(path, task, modules)
    check_task(model, task, slots)
    input_size, outputs, details = CHECKS[task](model)
    layers = weight_layers(model)
    if slot is not None and slot.refusal(model.name, layers):
        raise ImportRefused(slot.refusal(model.name, layers))
    names = []
    if task in ("classification", "detection"):
        if class_names is not None:
            if not names_fit(task, outputs, class_names):
                raise ImportRefused(_misfit(task, outputs, len(class_names), "--class-names"))
            names = list(class_names)
        elif fallback_class_names and names_fit(task, outputs, fallback_class_names):
            names = list(fallback_class_names)
        elif fallback_class_names:
            raise ImportRefused(
                _misfit(task, outputs, len(fallback_class_names), "the slot's current model")
                + " Pass --class-names FILE (one name per line)."
            )
        else:
            raise ImportRefused(
                "No class names: pass --class-names FILE (one name per line, in the model's output order); "
                "none could be taken from the slot, which has no model yet."
            )
        if task == "detection":
            details["boxes"] = (outputs - len(names)) // 5
    return Inspection(
        model=model,
        input_size=input_size,
        class_names=names,
        preprocessing=preprocessing_of(model),
        layers=layers,
        parameters=int(model.count_params()),
        outputs=outputs,
        details=details,
        sha256=sha256(path),
    )


def _misfit(task, outputs, count, source):
    if task == "classification":
        return f"The model has {outputs} outputs but {source} gives {count} class names."
    return f"The model's {outputs} output channels do not fit {count} classes from {source} (need boxes*5 + {count})."
