"""What every `train_*` command shares: the distribution strategy, mixed precision and XLA flags,
a run recorded in the database as it goes, and resuming a killed run from its last epoch.

    training.add_training_arguments(parser)
    with training.start_run("train_classifier", options, task=..., architecture=..., stdout=self.stdout) as run:
        with run.strategy.scope():
            model = build(...)
            model.compile(..., jit_compile=run.jit)
        model.fit(..., callbacks=run.callbacks([...]))
        run.add_artifact("model", path)

`model.fit` gets a callback that records each epoch (and pushes it to the live /runs/ page over the
channel layer) and Keras' BackupAndRestore in a folder named after the command line, so running the
same command again after a kill resumes where it stopped, in the same run record and the same
output folder (`run.output_dir(default)`); `run.earlier_epochs(stage)` gives a resumed attempt the
epochs of the ones before, so curves and reports tell the whole run. Each attempt is recorded
(registry/attempts.py). Keras' TensorBoard callback writes under var/runs/run-<id>-<command>-<start>/.
A SIGTERM or Ctrl-C prints "Run #N interrupted after epoch k of N; run the same command to
resume." and exits with status 130: at the next batch's end, or at a custom loop's safe point
(deepboot/stopping.py says why never elsewhere). Custom loops call `run.log_epoch`.

Multi-worker runs (`--distribute multiworker`, TF_CONFIG) start the same command on every worker;
all of them train, but only the chief (worker 0) records the run in the database, writes artefacts
and registers the model:

        if run.is_chief:
            model.save(path); registry.register(...)

A run killed outright (SIGKILL, a lost machine) cannot say so: `reap_dead_runs()` (registry/
records.py, called by the /runs/ pages and the next run) marks it interrupted once its process is gone.

Here: the flags and `start_run`, which makes the record and yields a `Run` (registry/run.py).
"""

import sys
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.utils import timezone

from deepboot.distribute import DISTRIBUTE_CHOICES, DistributeError, choose_strategy, is_chief, worker_index
from deepboot.stopping import Stopper

from . import attempts
from .models import TrainingRun
from .records import (  # noqa: F401 (the API the commands, pages and tests use)
    backup_root, find_or_create_record, follower_record, publish, reap_dead_runs, record_epoch, resume_key,
    run_arguments, tensorboard_dir, var_path,
)
from .run import Run


def add_training_arguments(parser):
    """The flags every train_* command takes."""
    parser.add_argument(
        "--distribute", choices=DISTRIBUTE_CHOICES, default="auto",
        help="tf.distribute strategy: none, mirrored (all GPUs of this host), multiworker (hosts in "
        "TF_CONFIG). Default auto: multiworker if TF_CONFIG is set, mirrored with several GPUs, else none.",
    )
    parser.add_argument("--mixed-precision", action="store_true",
                        help="float16 compute with float32 variables and a loss-scaling optimizer (fast on GPUs).")
    parser.add_argument("--jit", action="store_true", help="Compile the training step with XLA.")
    parser.add_argument("--note", default="", help="Why this run: a line kept with the run (shown on /runs/).")
    parser.add_argument("--demo", action="store_true",
                        help="A demo run (bootstrap passes it): its live page /runs/<id>/ is public, read-only.")


def keras_verbose(verbosity, stdout):
    """model.fit's `verbose`: Keras' progress bar on a terminal (or with -v 2), one line per epoch
    in a log that is not a terminal (the bar's escape codes have no place there), none with -v 0."""
    if verbosity == 0:
        return 0
    interactive = getattr(getattr(stdout, "_out", stdout), "isatty", lambda: False)()
    return 1 if interactive or verbosity > 1 else 2


@contextmanager
def start_run(command, options, *, task="", architecture="", stdout=None, started_by=None, total=None, unit="epoch"):
    """Record a training run for the duration of the block; see the module docstring.

    started_by: the staff user when the site starts it (default: the OS user). total and unit say
    how far a stopped run got ("interrupted after epoch 1 of 6"; default total: --epochs).
    A SIGTERM or Ctrl-C ends the block with that one line and SystemExit(130), no traceback, where
    the run reaches a safe point (deepboot/stopping.py); one that came after the last of them lets
    the run finish and be recorded as finished, then exits with 130."""
    stdout = stdout or sys.stdout
    stopper = Stopper()
    with stopper.installed():  # from before the record says "running" until it says how it ended
        try:
            run = _begin_run(command, options, task, architecture, stdout, started_by, stopper)
        except KeyboardInterrupt:
            stdout.write("Stopped before the run started; nothing was recorded as running.")
            raise SystemExit(130) from None
        total = total if total is not None else options.get("epochs")
        try:
            stopper.raise_pending()  # a stop that came while the record was being made ends the run here
            yield run  # held throughout: a stop is raised at the run's safe points only
        except KeyboardInterrupt:
            line = attempts.interrupted_line(run.record, total, unit)
            _finish(run, TrainingRun.Status.INTERRUPTED, line)
            stdout.write(("\n" if run.verbose == 1 else "") + line)
            raise SystemExit(130) from None
        except BaseException as exc:
            stopper.stopping = True  # a stop now would cut the failure's record short
            _finish(run, TrainingRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
            raise
        else:
            stopper.stopping = True
            _finish(run, TrainingRun.Status.FINISHED, "")
            stdout.write(f"Run #{run.record.pk} finished." if run.is_chief else f"Worker {worker_index()} finished.")
            if stopper.pending is not None:  # stopped after its last safe point: finished, and the process stops
                raise SystemExit(130)


def _begin_run(command, options, task, architecture, stdout, started_by, stopper):
    """The run's strategy and record (found again when the same command line resumes it)."""
    arguments = run_arguments(options)
    try:
        strategy, description = choose_strategy(options.get("distribute") or "auto")
    except DistributeError as exc:
        raise CommandError(str(exc)) from exc
    mixed = bool(options.get("mixed_precision"))
    jit = bool(options.get("jit"))
    chief = is_chief()
    stopper.hold()  # from "running" in the record on, a stop waits for a safe point
    if chief:
        record, resumed = find_or_create_record(command, arguments, task, architecture,
                                                 started_by or attempts.os_user())
    else:
        record, resumed = follower_record(command, arguments, task, architecture), False
    record.distribute = description
    record.replicas = strategy.num_replicas_in_sync
    if chief:
        record.save(update_fields=["distribute", "replicas", "updated"])
        stdout.write(
            f"Run #{record.pk}: {description}; mixed precision {'on' if mixed else 'off'}; XLA {'on' if jit else 'off'}."
        )
    else:
        stdout.write(
            f"Worker {worker_index()} of a multi-worker run: {description}; the chief records the run, "
            "saves and registers the model."
        )
    run = Run(record, strategy, mixed, jit, stdout, chief=chief, worker=worker_index(),
              verbose=keras_verbose(options.get("verbosity", 1), stdout), stopper=stopper)
    if resumed:
        stdout.write(f"Resuming run #{record.pk} from its last checkpoint (same command line).")
    elif not chief and any(run.backup_dir.iterdir()):
        stdout.write("Resuming this worker from its last checkpoint (same command line).")
    if chief:
        publish(record, {"event": "started"})
    return run


def _finish(run, status, error):
    """Record how the run ended (the chief) and remove the folders it no longer needs."""
    run.remove_folders(finished=status == TrainingRun.Status.FINISHED)
    if not run.is_chief:
        return
    record = run.record
    record.status = status
    record.error = error
    record.finished = timezone.now()
    record.save(update_fields=["status", "error", "finished", "updated"])
    attempts.end(record, status, error)
    publish(record, {"event": status})
