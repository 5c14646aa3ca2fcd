"""Register, activate and serve trained models.

Each app declares its slots (task, architecture, the command that fills it) on its AppConfig as
`model_slots`. `load_active` keeps one loaded copy of each slot's active model per process,
loads it lazily under a lock, and notices a newly activated version on the next call, so a
`manage.py activate_model` takes effect without a restart.
"""

import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from django.apps import apps
from django.conf import settings
from django.db import transaction

from .models import TrainedModel
from .slots import Slot  # noqa: F401  (re-exported for the apps)


class ModelUnavailable(Exception):
    """No usable active model for a slot; the message says what to run."""


def all_slots():
    """Every slot declared by the installed apps, in app order."""
    slots = []
    for config in apps.get_app_configs():
        slots.extend(getattr(config, "model_slots", ()))
    return slots


def slot_command(task, architecture):
    for slot in all_slots():
        if (slot.task, slot.architecture) == (task, architecture):
            return slot.command
    return "python manage.py bootstrap"


def absolute_path(relative_path):
    """The file of a registry entry: paths are stored relative to var/models/."""
    return Path(settings.MODELS_DIR) / relative_path


def relative_path(path):
    """Store a path under var/models/ relative to it, so the var folder can move."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(settings.MODELS_DIR).resolve()))
    except ValueError as exc:
        raise ValueError(f"{path} is not under {settings.MODELS_DIR}") from exc


def register(task, architecture, path, *, activate=False, **fields):
    """Record a saved model; with activate=True it becomes its slot's active model."""
    record = TrainedModel.objects.create(
        task=task, architecture=architecture, path=relative_path(path), **fields
    )
    if activate:
        record = activate_model(record.pk)
    return record


@transaction.atomic
def activate_model(pk):
    """Make model `pk` the active one of its slot, deactivating the previous one."""
    record = TrainedModel.objects.select_for_update().get(pk=pk)
    TrainedModel.objects.filter(
        task=record.task, architecture=record.architecture, active=True
    ).exclude(pk=pk).update(active=False)
    if not record.active:
        record.active = True
        record.save(update_fields=["active"])
    return record


# The admin action and the management command share this name.
activate = activate_model


def active_record(task, architecture):
    return TrainedModel.objects.filter(task=task, architecture=architecture, active=True).first()


def active_records(task=None):
    records = TrainedModel.objects.filter(active=True)
    if task:
        records = records.filter(task=task)
    return list(records.order_by("task", "id"))


@dataclass
class LoadedModel:
    record: TrainedModel
    model: Any


_cache: dict[tuple[str, str], LoadedModel] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _keras_loader(path):
    import keras

    return keras.saving.load_model(path, compile=False)


def load_active(task, architecture, loader: Callable[[Path], Any] = _keras_loader):
    """The active model of a slot, loaded once per process and reloaded when it changes.

    Raises ModelUnavailable (with the command to run) when no model is active or its file
    is missing or cannot be loaded; the next call tries again, so fixing the file recovers.
    """
    key = (task, architecture)
    record = active_record(task, architecture)
    if record is None:
        raise ModelUnavailable(
            f"No active {task} model '{architecture}'. Run: {slot_command(task, architecture)}"
        )
    cached = _cache.get(key)
    if cached is not None and cached.record.pk == record.pk:
        return cached
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        cached = _cache.get(key)
        if cached is not None and cached.record.pk == record.pk:
            return cached
        path = absolute_path(record.path)
        if not path.exists():
            raise ModelUnavailable(
                f"The file of model #{record.pk} ({path.name}) is missing. "
                f"Run: {slot_command(task, architecture)}"
            )
        try:
            model = loader(path)
        except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelUnavailable(
                f"Model #{record.pk} ({path.name}) could not be loaded ({exc.__class__.__name__}). "
                f"Run: {slot_command(task, architecture)}"
            ) from exc
        loaded = LoadedModel(record=record, model=model)
        _cache[key] = loaded
        return loaded


def clear_cache():
    """Forget every loaded model (tests use this between fixtures)."""
    _cache.clear()
