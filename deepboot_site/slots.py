"""Slots: the places on the site for one active model each. No Django model import here, so
AppConfig classes can declare their slots before the app registry is ready."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A place on the site for one active model (task, architecture), and the command that fills it."""

    task: str
    architecture: str
    command: str
