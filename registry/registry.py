"""Register, activate and serve trained models.

Each app declares its slots (task, architecture, the command that fills it, the network it
accepts, the loader of its models) on its AppConfig as `slots` (registry/slots.py). Every change
of a slot's active model (activate, deactivate, roll back) is recorded as an `Activation`: who,
when, how, what it replaced. `load_active` keeps one loaded copy of each slot's active model per
process, loads it lazily under a lock, and notices a newly activated version on the next call, so a
`manage.py activate_model` takes effect without a restart.
"""

import getpass
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from . import slots
from .models import Activation, TrainedModel


class ModelUnavailable(Exception):
    """No usable active model for a slot; the message says what to run."""


def all_slots():
    """Every slot declared by the installed apps, in app order."""
    return [slot for served in slots.declared() for slot in served.slots]


def find_slot(task, architecture):
    """The declared slot (task, architecture), or None."""
    return next((s for s in all_slots() if (s.task, s.architecture) == (task, architecture)), None)


def slot_command(task, architecture):
    """The command that fills the slot (bootstrap for one no app declares)."""
    slot = find_slot(task, architecture)
    return slot.command if slot else "python manage.py bootstrap"


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


def register(task, architecture, path, *, activate=False, by=None, via="register", **fields):
    """Record a saved model; with activate=True it becomes its slot's active model."""
    record = TrainedModel.objects.create(
        task=task, architecture=architecture, path=relative_path(path), **fields
    )
    if activate:
        record = activate_model(record.pk, by=by, via=via)
    return record


def os_user():
    """Who runs a command on this host, for the audit."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else ""


@transaction.atomic
def activate_model(pk, *, by=None, via="activate_model"):
    """Make model `pk` the active one of its slot, deactivating the previous one. A change is
    recorded as an Activation (`by`: who; default the OS user)."""
    record = TrainedModel.objects.select_for_update().get(pk=pk)
    if record.active:
        return record
    previous = active_record(record.task, record.architecture)
    TrainedModel.objects.filter(
        task=record.task, architecture=record.architecture, active=True
    ).exclude(pk=pk).update(active=False)
    record.active = True
    record.save(update_fields=["active"])
    Activation.objects.create(task=record.task, architecture=record.architecture, model=record,
                              replaced=previous, by=os_user() if by is None else by, via=via)
    # In a serving worker (the admin's activation), the new model is warmed before a request needs it.
    transaction.on_commit(lambda: _warmup().after_activation(record.task, record.architecture))
    return record


def _warmup():
    from . import warmup

    return warmup


@transaction.atomic
def deactivate(task, architecture, *, by=None, via="deactivate_model"):
    """Empty the slot (task, architecture): its active model (returned; None if it had none) is
    kept in the registry, inactive."""
    record = TrainedModel.objects.select_for_update().filter(task=task, architecture=architecture, active=True).first()
    if record is not None:
        record.active = False
        record.save(update_fields=["active"])
        Activation.objects.create(task=task, architecture=architecture, model=None, replaced=record,
                                  by=os_user() if by is None else by, via=via)
    return record


class NoPrevious(Exception):
    """A slot has no earlier model to roll back to; the message says why."""


def previous_model(task, architecture):
    """The model that was active in the slot before the latest change (NoPrevious if none)."""
    last = Activation.objects.filter(task=task, architecture=architecture).first()
    if last is None:
        raise NoPrevious(f"No activation of {task}/{architecture} is recorded, so there is nothing to roll back to.")
    if last.replaced_id is None:
        raise NoPrevious(
            f"{task}/{architecture} was empty before model #{last.model_id}; "
            f"to empty it again run: python manage.py deactivate_model {task}/{architecture}"
        )
    return last.replaced


def parse_slot(text):
    """A slot named as task/architecture, or by its architecture alone when only one task has it."""
    task, _, architecture = text.rpartition("/")
    matches = [s for s in all_slots() if s.architecture == architecture and task in ("", s.task)]
    known = {(r["task"], r["architecture"]) for r in TrainedModel.objects.values("task", "architecture")}
    if not matches and task and (task, architecture) in known:
        return task, architecture
    if len(matches) != 1:
        names = ", ".join(f"{s.task}/{s.architecture}" for s in all_slots())
        raise ValueError(f"No slot {text!r}; the slots are: {names}.")
    return matches[0].task, matches[0].architecture


def find_same_file(path, digest):
    """The registry entry whose file has these bytes (same size, same sha256), or None."""
    size = Path(path).stat().st_size
    for record in TrainedModel.objects.order_by("pk"):
        if record.training_run.get("sha256") == digest:
            return record
        candidate = absolute_path(record.path)
        if candidate.is_file() and candidate.stat().st_size == size and _sha256(candidate) == digest:
            return record
    return None


def _sha256(path):
    from .model_import import sha256

    return sha256(path)


def copy_in(source, task, architecture):
    """Copy a model file to var/models/<task>/imported-<timestamp>/<architecture>.keras (atomically)."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(settings.MODELS_DIR) / task / f"imported-{stamp}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = Path(settings.MODELS_DIR) / task / f"imported-{stamp}-{suffix}"
    folder.mkdir(parents=True)
    target = folder / f"{architecture}.keras"
    partial = folder / f".{architecture}.keras.partial"
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target


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


def _declared_loader(task):
    """The loader the app serving `task` declares (its networks.py `load_model`)."""
    served = slots.for_task(task)
    if served is None:
        raise ModelUnavailable(f"No installed app serves {task} models.")
    return served.load_model


_active_id_sql: dict[tuple[str, str, str, str], tuple[str, tuple]] = {}


def _active_id(task, architecture):
    """The id of the slot's active model, or None.

    Asked on every call of `load_active` (each tic-tac-toe move asks once), so it is one column,
    not the whole row (metrics, JSON fields), and its SQL is built by the ORM once per database and
    slot and then run as is: building it took some 0.3 ms a move, running it 0.02 ms."""
    connection = connections[router.db_for_read(TrainedModel)]
    key = (connection.alias, connection.vendor, task, architecture)
    compiled = _active_id_sql.get(key)
    if compiled is None:
        active = TrainedModel.objects.using(connection.alias).filter(task=task, architecture=architecture, active=True)
        query = active.values_list("pk", flat=True)[:1].query
        compiled = _active_id_sql[key] = query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(*compiled)
        row = cursor.fetchone()
    return row[0] if row else None


def load_active(task, architecture, loader: Optional[Callable[[Path], Any]] = None):
    """The active model of a slot, loaded once per process and reloaded when it changes; `loader`
    (default: the one the task's app declares) turns its file into what the caller serves.

    Raises ModelUnavailable (with the command to run) when no model is active or its file
    is missing or cannot be loaded; the next call tries again, so fixing the file recovers.
    """
    key = (task, architecture)
    cached = _cache.get(key)
    active_id = _active_id(task, architecture)
    if cached is not None and cached.record.pk == active_id:
        return cached
    record = None if active_id is None else TrainedModel.objects.filter(pk=active_id).first()
    if record is None:
        raise ModelUnavailable(
            f"No active {task} model '{architecture}'. Run: {slot_command(task, architecture)}"
        )
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
            model = (loader or _declared_loader(task))(path)
        except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelUnavailable(
                f"Model #{record.pk} ({path.name}) could not be loaded ({exc.__class__.__name__}). "
                f"Run: {slot_command(task, architecture)}"
            ) from exc
        loaded = LoadedModel(record=record, model=model)
        _cache[key] = loaded
        return loaded


def loaded(task, architecture) -> Optional[LoadedModel]:
    """The slot's model as `load_active` last loaded it in this process, without asking the
    database whether it is still the active one (None: none loaded). For a caller that checks that
    in a statement of its own (a tic-tac-toe move's UPDATE) and calls `load_active` where it was not."""
    return _cache.get((task, architecture))


def clear_cache():
    """Forget every loaded model (tests use this between fixtures)."""
    _cache.clear()
