"""Slots: the places on the site for one active model each, declared by the apps that serve them.

Each app declares what it serves on its AppConfig as `slots`, a `TaskSlots`: its task, its slots
(one per architecture), the loader of its saved models (in its networks.py) and the rules a file
trained elsewhere must meet (the input and output shapes its service expects, and how class names
fit the outputs). The registry finds them through the app configs (`declared()`) and names the
app's functions by dotted path only, resolved when used: it imports no app.

No Django model import here, so AppConfig classes can declare their slots before the app registry
is ready.
"""

from dataclasses import dataclass

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Slot:
    """A place on the site for one active model (task, architecture), and the command that fills it.

    What the slot accepts beyond its task's rules (checked by `import_model`): `network` is the
    Keras model's own name (`model.name`, as the app's builder sets it; default: the architecture);
    `weight_layers` the convolutional and dense layers it holds, counted as registry/model_import.py
    counts them (None where the count varies with the input size).
    """

    task: str
    architecture: str
    command: str
    network: str = ""
    weight_layers: int | None = None

    @property
    def network_name(self):
        return self.network or self.architecture

    def refusal(self, name, layers):
        """Why a network named `name` with `layers` weight layers cannot fill this slot, or ''."""
        if name != self.network_name:
            return (
                f"The {self.task}/{self.architecture} slot takes the {self.network_name} network; "
                f"this file holds a network named {name!r} ({layers} weight layers)."
            )
        if self.weight_layers is not None and layers != self.weight_layers:
            return (
                f"The {self.task}/{self.architecture} slot takes {self.weight_layers} weight layers; "
                f"this {name} network has {layers}."
            )
        return ""


@dataclass(frozen=True)
class TaskSlots:
    """What one app serves, declared on its AppConfig as `slots`.

    `loader`: dotted path of `load_model(path) -> keras.Model` (the app's networks.py), which
    registers the custom layers its files hold; `check`: dotted path of `check(model) -> Fit`
    (registry/model_import.py), the input and output shapes its service expects, raising
    ImportRefused; `class_names`: dotted path of `fit_class_names(outputs, names, source) -> dict`
    (the details the names imply, ImportRefused when they do not fit), '' for a task without class
    names; `warm`: dotted path of a service function `(architecture)` that loads a slot's model the
    way a request does and runs it once, returning something false for an architecture it does not
    serve; called for each active model of a declared slot when a server worker starts
    (registry/warmup.py); '' for none.
    """

    task: str
    slots: tuple
    loader: str
    check: str
    class_names: str = ""
    warm: str = ""

    def __post_init__(self):
        strays = [s for s in self.slots if s.task != self.task]
        if strays:
            raise ValueError(f"The {self.task} slots declare another task: {strays}.")
        object.__setattr__(self, "slots", tuple(self.slots))

    def resolve_loader(self):
        """The app's loader; importing its module registers the custom layers the app's files hold."""
        return import_string(self.loader)

    def load_model(self, path):
        return self.resolve_loader()(path)

    def check_model(self, model):
        return import_string(self.check)(model)

    @property
    def takes_class_names(self):
        return bool(self.class_names)

    def fit_class_names(self, outputs, names, source):
        return import_string(self.class_names)(outputs, names, source)


def declared():
    """Every installed app's TaskSlots, in app order."""
    from django.apps import apps

    return [config.slots for config in apps.get_app_configs() if hasattr(config, "slots")]


def for_task(task):
    """The TaskSlots of `task`, or None when no installed app serves it."""
    return next((declared_task for declared_task in declared() if declared_task.task == task), None)
