"""Checking a `.keras` file trained elsewhere before it joins the registry (`import_model`).

`inspect(path, served, ...)` loads the file the way the site will serve it and checks that it fits
the task's service. What a task accepts is declared by the app that serves it (`served`, its
TaskSlots: registry/slots.py): its loader, its input and output shape rules (`check(model) -> Fit`,
e.g. classifier/accepts.py) and how class names fit the outputs. Given the slot, it also checks the
architecture the slot accepts: the network's own name and weight-layer count; a network named for
another task's slot is refused as the wrong task.

The apps' rules run one prediction on a blank input (`predict_blank`) to prove the model computes;
`inspect` returns what the registry keeps (input size, preprocessing, weight layers, parameters,
sha256). Errors are `ImportRefused` with one sentence a person can act on. No Django here, and no
app: the rules come in with `served`.
"""

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


@dataclass
class Fit:
    """What an app's `check(model)` found: the input size the service feeds (e.g. [height, width]),
    the output units (classes, channels or Q-values), details the registry keeps with the run, and
    the preprocessing inside the model when the app knows it (None: the generic guess)."""

    input_size: list
    outputs: int
    details: dict = field(default_factory=dict)
    preprocessing: str | None = None


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


def load(path, loader):
    """The model in `path`, loaded by the app's `loader` without its optimizer (Keras' safe mode:
    no arbitrary code)."""
    import keras

    path = Path(path)
    check_archive(path)
    try:
        model = loader(path)
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


def find_layer(model, wanted):
    """The first layer for which `wanted(layer)` holds, nested models included, or None."""
    import keras

    for layer in model.layers:
        found = find_layer(layer, wanted) if isinstance(layer, keras.Model) else None
        if found is not None:
            return found
        if wanted(layer):
            return layer
    return None


def preprocessing_of(model):
    """The generic guess at the input scaling inside the model: "rescale" for a Rescaling layer."""
    import keras

    return "rescale" if find_layer(model, lambda layer: isinstance(layer, keras.layers.Rescaling)) else ""


def io_shapes(model):
    """The model's input and output shapes, batch included, as tuples (None for a free size)."""
    return tuple(_dims(model.inputs[0])), tuple(_dims(model.outputs[0]))


def _dims(tensor):
    return [None if d is None else int(d) for d in tensor.shape]


def predict_blank(model, shape):
    """The model's output on one all-zero input of `shape` (no batch), refused when it fails or is not finite."""
    from keras import ops

    blank = np.zeros((1, *shape), dtype="float32")
    try:
        output = ops.convert_to_numpy(model(blank, training=False))
    except LOAD_ERRORS as exc:
        raise ImportRefused(f"The model fails on an input of shape {blank.shape} ({quote(exc)}).") from None
    if not np.all(np.isfinite(output)):
        raise ImportRefused("The model's output on a blank input is not finite (NaN or infinity).")
    return output


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


def inspect(path, served, class_names=None, fallback_class_names=None, *, slot=None, declared=()):
    """Load `path` and check it fits the task `served` declares (registry/slots.py TaskSlots; and,
    given `slot`, its architecture). `declared`, every app's TaskSlots, lets a network of another
    task load (its app's custom layers registered) and be named as such. `class_names` are the
    user's; `fallback_class_names` (those of the slot's current model) are used when they fit the
    model's output. Returns an Inspection, or raises ImportRefused."""
    for other in declared:
        other.resolve_loader()
    model = load(path, served.load_model)
    slots = [s for other in declared for s in other.slots]
    check_task(model, served.task, slots)
    fit = served.check_model(model)
    layers = weight_layers(model)
    if slot is not None and slot.refusal(model.name, layers):
        raise ImportRefused(slot.refusal(model.name, layers))
    names, details = [], dict(fit.details)
    if served.takes_class_names:
        names, implied = _class_names(served, fit.outputs, class_names, fallback_class_names)
        details.update(implied)
    return Inspection(
        model=model,
        input_size=fit.input_size,
        class_names=names,
        preprocessing=preprocessing_of(model) if fit.preprocessing is None else fit.preprocessing,
        layers=layers,
        parameters=int(model.count_params()),
        outputs=fit.outputs,
        details=details,
        sha256=sha256(path),
    )


def _class_names(served, outputs, given, fallback):
    """The class names to keep and the details they imply: the user's, else the slot's when they fit."""
    if given is not None:
        return list(given), served.fit_class_names(outputs, given, "--class-names")
    if not fallback:
        raise ImportRefused(
            "No class names: pass --class-names FILE (one name per line, in the model's output order); "
            "none could be taken from the slot, which has no model yet."
        )
    try:
        return list(fallback), served.fit_class_names(outputs, fallback, "the slot's current model")
    except ImportRefused as exc:
        raise ImportRefused(f"{exc} Pass --class-names FILE (one name per line).") from None
