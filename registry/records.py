"""A training run's database record: the options that define it, the key a rerun finds it by,
creating or resuming it (with its attempts), its epochs, the live events, and reaping runs whose
process is gone. Used by registry/training.py, which re-exports these names."""

import hashlib
import json
import logging
import os
import socket
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from . import attempts
from .models import TrainingRun

log = logging.getLogger(__name__)

# Options Django adds to every command; they do not change what is trained.
_NOT_PART_OF_THE_RUN = {
    "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks",
    "stdout", "stderr",
}


def run_arguments(options):
    """The options that define a run, JSON-safe (paths as strings)."""
    clean = {k: v for k, v in options.items() if k not in _NOT_PART_OF_THE_RUN}
    return json.loads(json.dumps(clean, default=str, sort_keys=True))


def resume_key(command, arguments):
    """Same command and arguments, same key: that is how a rerun finds the run it resumes."""
    relevant = {k: v for k, v in arguments.items() if k not in ("activate", "note", "demo")}
    text = json.dumps([command, relevant], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def is_demo(run):
    """Whether bootstrap started this run (`--demo`): its live page is public, read-only."""
    return run is not None and (run.arguments or {}).get("demo") is True


def demo_runs_in_progress(task):
    """{architecture: run} for the demo runs of `task` training now (or stopped, to resume at the
    next start), the latest per architecture."""
    reap_dead_runs(TrainingRun.objects.filter(task=task, arguments__demo=True, status=TrainingRun.Status.RUNNING))
    runs = TrainingRun.objects.filter(task=task, arguments__demo=True).exclude(
        status__in=[TrainingRun.Status.FINISHED, TrainingRun.Status.FAILED]).order_by("started")
    return {run.architecture: run for run in runs}


def training_slots(task):
    """demo_runs_in_progress for the slots of `task` that have no active model."""
    from .registry import active_records

    active = {record.architecture for record in active_records(task)}
    return {arch: run for arch, run in demo_runs_in_progress(task).items() if arch not in active}


def pid_alive(pid):
    """Whether a process with this id exists on this host."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def reap_dead_runs(queryset=None):
    """Mark as interrupted the "running" runs of this host whose process is gone (killed with
    SIGKILL, out of memory, the machine rebooted). Runs of other hosts are left alone: this host
    cannot see their processes. Returns the runs it marked."""
    host = socket.gethostname()
    queryset = TrainingRun.objects.all() if queryset is None else queryset
    candidates = queryset.filter(status=TrainingRun.Status.RUNNING, host=host, pid__isnull=False)
    reaped = []
    for record in candidates:
        if record.pid == os.getpid() or pid_alive(record.pid):
            continue
        updated = TrainingRun.objects.filter(pk=record.pk, status=TrainingRun.Status.RUNNING, pid=record.pid).update(
            status=TrainingRun.Status.INTERRUPTED,
            error=f"The process (pid {record.pid} on {host}) is gone; run the same command again to resume.",
            finished=timezone.now(),
            updated=timezone.now(),
        )
        if updated:
            record.refresh_from_db()
            attempts.end(record, record.status, record.error)
            publish(record, {"event": record.status})
            reaped.append(record)
    return reaped


def record_epoch(record, epoch, metrics, stage=None):
    """Store one epoch's metrics on a run (replacing a repeat of the same epoch) and publish them."""
    entry = {"epoch": int(epoch), **{k: _json_number(v) for k, v in metrics.items()}}
    if stage and stage != "fit":
        entry["stage"] = stage
    kept = [e for e in record.epochs if (e["epoch"], e.get("stage")) != (entry["epoch"], entry.get("stage"))]
    record.epochs = [*kept, entry]
    record.save(update_fields=["epochs", "updated"])
    publish(record, {"event": "epoch", **entry})


def _json_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def publish(record, message):
    """Push a run event to the `runs` group of the channel layer (live /runs/ pages).

    With the in-memory layer (no REDIS_URL) the web process cannot hear it and the page polls the
    database instead; a Redis that is down must not stop training, so that is logged and skipped.
    """
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    payload = {"type": "run.event", "run": record.pk, "status": record.status, **message}
    try:
        async_to_sync(layer.group_send)("runs", payload)
        async_to_sync(layer.group_send)(f"run-{record.pk}", payload)
    except (OSError, ConnectionError, TimeoutError) as exc:
        log.warning("Could not publish run %s event: %s", record.pk, exc)


def backup_root(key):
    """Where the checkpoints of the runs with this resume key live (var/runs/backup/<key>/)."""
    return Path(settings.VAR_DIR) / "runs" / "backup" / key


def _command_line(command):
    return " ".join(["manage.py", *sys.argv[1:]]) if sys.argv and "manage.py" in sys.argv[0] else command


def find_or_create_record(command, arguments, task, architecture, started_by):
    key = resume_key(command, arguments)
    reap_dead_runs(TrainingRun.objects.filter(resume_key=key))
    resumable = (
        TrainingRun.objects.filter(resume_key=key)
        .exclude(status=TrainingRun.Status.FINISHED)
        .order_by("-started")
        .first()
    )
    if (
        resumable is not None
        and resumable.status == TrainingRun.Status.RUNNING
        and resumable.host == socket.gethostname()
        and resumable.pid not in (None, os.getpid())
    ):
        # reap_dead_runs left it running: its process is alive on this host.
        raise CommandError(
            f"Run #{resumable.pk} with the same command line is still running "
            f"(pid {resumable.pid} on {resumable.host}); wait for it, or stop it first."
        )
    # A "running" run of another host cannot be checked from here: the same command line takes it
    # over (its host is gone, or the run moved), resuming from the checkpoints when they are shared.
    if resumable is not None and backup_root(key).exists():
        if resumable.status == TrainingRun.Status.RUNNING:  # another host's attempt, taken over
            attempts.end(resumable, TrainingRun.Status.INTERRUPTED,
                         f"Taken over by {socket.gethostname()} (pid {os.getpid()}) running the same command line.")
        resumable.status = TrainingRun.Status.RUNNING
        resumable.resumed += 1
        resumable.error = ""
        resumable.host = socket.gethostname()
        resumable.pid = os.getpid()
        resumable.finished = None
        # The run shows its latest attempt's options (--activate, --note); each attempt keeps its own.
        resumable.command_line = _command_line(command)
        resumable.arguments = arguments
        resumable.note = arguments.get("note") or resumable.note
        resumable.save(update_fields=[
            "status", "resumed", "error", "host", "pid", "finished", "command_line", "arguments", "note", "updated",
        ])
        attempts.begin(resumable, resumable.command_line, arguments, started_by)
        return resumable, True
    record = TrainingRun.objects.create(
        command=command,
        arguments=arguments,
        command_line=_command_line(command),
        resume_key=key,
        host=socket.gethostname(),
        pid=os.getpid(),
        task=task,
        architecture=architecture,
        started_by=started_by,
        git_commit=attempts.git_commit(),
        note=arguments.get("note") or "",
    )
    attempts.begin(record, record.command_line, arguments, started_by)
    return record, False


def follower_record(command, arguments, task, architecture):
    """A multi-worker run's non-chief worker: the same run, kept in memory only (never saved)."""
    return TrainingRun(
        command=command,
        arguments=arguments,
        command_line=_command_line(command),
        resume_key=resume_key(command, arguments),
        host=socket.gethostname(),
        pid=os.getpid(),
        task=task,
        architecture=architecture,
    )


def tensorboard_dir(record):
    """Where a run's TensorBoard event files are (see Run.tensorboard_dir)."""
    started = timezone.localtime(record.started).strftime("%Y%m%d-%H%M%S.%f")
    return Path(settings.VAR_DIR) / "runs" / f"run-{record.pk}-{record.command}-{started}"


def relative_to_var(path):
    """A path relative to var/ when it is inside, else absolute, as a string."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(settings.VAR_DIR).resolve()))
    except ValueError:
        return str(path)


def var_path(stored):
    """A path stored relative to var/ (or absolute) as a Path."""
    return Path(settings.VAR_DIR) / stored if not Path(stored).is_absolute() else Path(stored)
