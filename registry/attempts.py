"""A training run is one story across its attempts: the first start and each resume are recorded
as `RunAttempt` rows (own command line, host, pid, user, code commit, start, end and outcome), and
the run keeps who started it, the code's commit and an optional note.

No Keras here: `registry.training` calls these as a run starts, resumes and ends.
"""

import getpass
import os
import socket
import subprocess

from django.conf import settings
from django.utils import timezone

from .models import RunAttempt

UNKNOWN_COMMIT = "unknown"


def os_user():
    """The login name of the user running this process (their uid where none is known)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def git_commit(root=None):
    """The commit checked out in the code's folder, or "unknown" when it is not a git checkout (or
    git is missing). A working tree with changes not committed gets "+changes" after the hash."""
    root = root or settings.BASE_DIR
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return UNKNOWN_COMMIT
        changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_COMMIT
    commit = head.stdout.strip()
    return f"{commit}+changes" if changed.returncode == 0 and changed.stdout.strip() else commit


def begin(record, command_line, arguments, started_by):
    """Record a new attempt of `record` by this process; returns it."""
    number = (record.attempts.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return RunAttempt.objects.create(
        run=record, number=number, command_line=command_line, arguments=arguments, host=socket.gethostname(),
        pid=os.getpid(), started_by=started_by, git_commit=record.git_commit if number == 1 else git_commit(),
        started=timezone.now(),
    )


def end(record, outcome, error=""):
    """Close the run's open attempts (the one of this process, or one whose process is gone)."""
    RunAttempt.objects.filter(run=record, finished__isnull=True).update(
        outcome=outcome, error=error, finished=timezone.now()
    )


def progress(record, total=None, unit="epoch"):
    """Where the run stands: "epoch 1 of 6" (the last recorded epoch and stage), or "before the
    first epoch finished"."""
    if not record.epochs:
        return f"before the first {unit} finished"
    last = record.epochs[-1]
    stage = f" ({last['stage']})" if last.get("stage") else ""
    of = f" of {total}" if total else ""
    return f"after {unit} {last['epoch']}{of}{stage}"


def interrupted_line(record, total=None, unit="epoch"):
    """The one line a stopped command prints."""
    who = f"Run #{record.pk}" if record.pk else "This worker's run"
    return f"{who} interrupted {progress(record, total, unit)}; run the same command to resume."


def as_data(record):
    """The attempts of a run as the run page and its JSON show them."""
    return [
        {
            "number": a.number, "command_line": a.command_line, "host": a.host, "pid": a.pid,
            "started_by": a.started_by, "git_commit": a.git_commit, "started": a.started.isoformat(),
            "finished": a.finished.isoformat() if a.finished else None, "outcome": a.outcome, "error": a.error,
        }
        for a in record.attempts.all()
    ] if record.pk else []

