"""Slots: the places on the site for one active model each. No Django model import here, so
AppConfig classes can declare their slots before the app registry is ready."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A place on the site for one active model (task, architecture), and the command that fills it.

    What the slot accepts, declared by the app that serves it (checked by `import_model`):
    `network` is the Keras model's own name (`model.name`, as the app's builder sets it; default:
    the architecture); `weight_layers` the convolutional and dense layers it holds, counted as
    registry/model_import.py counts them (None where the count varies with the input size);
    `custom_objects` the modules that register the custom layers its saved files may hold.
    """

    task: str
    architecture: str
    command: str
    network: str = ""
    weight_layers: int | None = None
    custom_objects: tuple = ()

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
