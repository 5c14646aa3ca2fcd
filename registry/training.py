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
resume." and exits with status 130. Custom loops call `run.log_epoch`.

Multi-worker runs (`--distribute multiworker`, TF_CONFIG) start the same command on every worker;
all of them train, but only the chief (worker 0) records the run in the database, writes artefacts
and registers the model:

        if run.is_chief:
            model.save(path); registry.register(...)

A run killed outright (SIGKILL, a lost machine) cannot say so: `reap_dead_runs()` (deepboot_site/
records.py, called by the /runs/ pages and the next run) marks it interrupted once its process is gone.
"""

import logging
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

from . import attempts
from deepboot.board import ScalarWriter, tensorboard_callback
from .models import TrainingRun
from deepboot.hooks import TrainHooks
from deepboot.stopping import Stopper
from .records import (  # noqa: F401 (the API the commands, pages and tests use)
    backup_root, find_or_create_record, follower_record, pid_alive, publish, reap_dead_runs, record_epoch,
    relative_to_var, resume_key, run_arguments, tensorboard_dir, var_path,
)
from deepboot.distribute import DISTRIBUTE_CHOICES, DistributeError, choose_strategy, precision, is_chief, worker_index  # noqa: F401

log = logging.getLogger(__name__)

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


class Run:
    """A training run in progress: its strategy, flags, database record and backup folder."""

    def __init__(self, record, strategy, mixed_precision, jit, stdout, chief=True, verbose=1, stopper=None):
        self.record = record
        self.verbose = verbose
        self._boards = {}
        self.stopper = stopper or Stopper()
        self._scratch = None  # a follower worker's output folder
        self.strategy = strategy
        self.mixed_precision = mixed_precision
        self.jit = jit
        self.stdout = stdout
        self.is_chief = chief
        self.backup_dir = backup_root(record.resume_key)
        if not chief:
            # Each worker of a multi-worker run keeps its own backup (Keras writes them all).
            self.backup_dir = self.backup_dir / f"worker-{worker_index()}"
        self.backup_dir.mkdir(parents=True, exist_ok=True)

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    def global_batch_size(self, per_replica):
        """The batch a tf.data pipeline should yield: per-replica batch times the replicas."""
        return per_replica * self.replicas

    def callbacks(self, extra=(), stage="fit"):
        """Callbacks for one model.fit: the caller's, epoch recording, and backup-and-restore.

        Use a different `stage` for each fit of one run (two-stage training, folds), so each
        resumes from its own checkpoint.
        """
        import keras

        backup = self.backup_dir / stage
        board = [tensorboard_callback(self.tensorboard_dir / stage)] if self.is_chief else []
        hold, release = self.stopper.callbacks()  # a SIGTERM waits until the checkpoints are written
        return [
            hold,
            *extra,
            keras.callbacks.BackupAndRestore(str(backup), save_freq="epoch", delete_checkpoint=True),
            *board,
            epoch_recorder(self, stage),
            release,
        ]

    @property
    def tensorboard_dir(self):
        """var/runs/run-<id>-<command>-<start>/: TensorBoard's event files, one folder per stage
        (`tensorboard --logdir var/runs`). The start (to the microsecond) keeps a reused id (a
        deleted run's) apart."""
        return tensorboard_dir(self.record)

    def output_dir(self, default):
        """The run's one output folder: `default` for a new run, the first attempt's after a resume.
        Another worker of a multi-worker run trains into a scratch folder of its own that the run
        removes when it ends: the chief keeps the files."""
        if not self.is_chief:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="deepboot-worker-"))
            return self._scratch
        if self.record.output_dir:
            return var_path(self.record.output_dir)
        self.record.output_dir = relative_to_var(default)
        self.record.save(update_fields=["output_dir", "updated"])
        return Path(default)

    def hooks(self, **fields):
        """The TrainHooks (deepboot/hooks.py) that plug this run into a trainer: its strategy,
        precision and XLA, the checkpoint-and-record callbacks of each fit, custom loops' epochs,
        the epochs of earlier attempts, and the folder a custom loop resumes from."""
        return TrainHooks(
            strategy=self.strategy, mixed_precision=self.mixed_precision, jit=self.jit, verbose=self.verbose,
            stdout=self.stdout, callbacks=lambda stage, extra: self.callbacks(extra, stage),
            log_epoch=self.log_epoch, earlier_epochs=self.earlier_epochs, resume_dir=self.backup_dir, **fields,
        )

    def earlier_epochs(self, stage="fit"):
        """The epochs of `stage` recorded so far (by earlier attempts, when called before this one's
        first epoch ends), in order, as {"stage", "epoch", metrics…} rows."""
        rows = [{**e, "stage": e.get("stage") or "fit"} for e in self.record.epochs if (e.get("stage") or "fit") == stage]
        return sorted(rows, key=lambda e: e["epoch"])

    def log_epoch(self, epoch, metrics, stage=None):
        """Record one epoch's metrics of a custom training loop, push them live and write them for
        TensorBoard (model.fit's epochs go through its callbacks). Only the chief records; the
        other workers of a multi-worker run train silently."""
        if self.is_chief:
            record_epoch(self.record, epoch, metrics, stage)
            stage = stage or "fit"
            if stage not in self._boards:
                self._boards[stage] = ScalarWriter(self.tensorboard_dir / stage)
            self._boards[stage].write(epoch, metrics)

    def add_artifact(self, name, path):
        """Remember a file the run made (model, curves, report), relative to var/ when it is inside."""
        if not self.is_chief:
            return
        self.record.artifacts = {**self.record.artifacts, name: relative_to_var(path)}
        self.record.save(update_fields=["artifacts", "updated"])

    def set_model(self, trained_model):
        if not self.is_chief:
            return
        self.record.model = trained_model
        self.record.save(update_fields=["model", "updated"])

    def summary(self):
        """What a registry entry keeps of its training run."""
        return {
            "run_id": self.record.pk,
            "command": self.record.command,
            "arguments": self.record.arguments,
            "host": self.record.host,
            "distribute": self.record.distribute,
            "replicas": self.record.replicas,
            "mixed_precision": self.mixed_precision,
            "jit": self.jit,
            "started": self.record.started.isoformat() if self.record.started else None,
        }


def epoch_recorder(run, stage):
    """A Keras callback recording each epoch of `stage` on the chief. Keras is imported here, when
    a run builds its callbacks, so this module imports without it."""
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if run.is_chief:  # Keras' TensorBoard callback writes these
                record_epoch(run.record, epoch + 1, logs or {}, stage)

    return EpochRecorder()


@contextmanager
def start_run(command, options, *, task="", architecture="", stdout=None, started_by=None, total=None, unit="epoch"):
    """Record a training run for the duration of the block; see the module docstring.

    started_by: the staff user when the site starts it (default: the OS user). total and unit say
    how far a stopped run got ("interrupted after epoch 1 of 6"; default total: --epochs).
    A SIGTERM or Ctrl-C ends the block with that one line and SystemExit(130), no traceback."""
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
            stopper.release()  # a stop that came while the record was being made ends the run here
            with precision(run.mixed_precision):
                yield run
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
    stopper.hold()  # from "running" in the record on, a stop is recorded (start_run releases it)
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
    run = Run(record, strategy, mixed, jit, stdout, chief=chief,
              verbose=keras_verbose(options.get("verbosity", 1), stdout), stopper=stopper)
    if resumed:
        stdout.write(f"Resuming run #{record.pk} from its last checkpoint (same command line).")
    elif not chief and any(run.backup_dir.iterdir()):
        stdout.write("Resuming this worker from its last checkpoint (same command line).")
    if chief:
        publish(record, {"event": "started"})
    return run


def _finish(run, status, error):
    record = run.record
    if status == TrainingRun.Status.FINISHED:
        # Nothing left to resume: the next identical command line starts a new run. The chief
        # leaves the other workers' folders (a shared var/) to them; the last one out removes the key.
        if run.is_chief:
            for path in list(run.backup_dir.iterdir()) if run.backup_dir.exists() else ():
                if not path.name.startswith("worker-"):
                    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        else:
            shutil.rmtree(run.backup_dir, ignore_errors=True)
        try:
            backup_root(record.resume_key).rmdir()
        except OSError:
            pass  # another worker's checkpoints are still there
    if run._scratch is not None:
        shutil.rmtree(run._scratch, ignore_errors=True)
    if not run.is_chief:
        return
    record.status = status
    record.error = error
    record.finished = timezone.now()
    record.save(update_fields=["status", "error", "finished", "updated"])
    attempts.end(record, status, error)
    publish(record, {"event": status})
