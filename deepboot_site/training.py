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
(deepboot_site/attempts.py). Keras' TensorBoard callback writes under var/runs/run-<id>-<command>-<start>/.
A SIGTERM or Ctrl-C prints "Run #N interrupted after epoch k of N; run the same command to
resume." and exits with status 130. Custom loops call `run.log_epoch`.

Multi-worker runs (`--distribute multiworker`, TF_CONFIG) start the same command on every worker;
all of them train, but only the chief (worker 0) records the run in the database, writes artefacts
and registers the model:

        if run.is_chief:
            model.save(path); registry.register(...)

A run killed outright (SIGKILL, a lost machine) cannot say so: the record keeps its host and pid,
and `reap_dead_runs()` (called by the /runs/ pages and by the next run) marks a "running" run of
this host whose process is gone as interrupted.
"""

import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from . import attempts
from .board import ScalarWriter, tensorboard_callback
from .models import TrainingRun

log = logging.getLogger(__name__)

DISTRIBUTE_CHOICES = ("auto", "none", "mirrored", "multiworker")
# Options Django adds to every command; they do not change what is trained.
_NOT_PART_OF_THE_RUN = {
    "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks",
    "stdout", "stderr",
}


def add_training_arguments(parser):
    """The flags every train_* command takes."""
    parser.add_argument(
        "--distribute",
        choices=DISTRIBUTE_CHOICES,
        default="auto",
        help="tf.distribute strategy: none, mirrored (all GPUs of this host), multiworker (hosts in "
        "TF_CONFIG). Default auto: multiworker if TF_CONFIG is set, mirrored with several GPUs, else none.",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="float16 compute with float32 variables and a loss-scaling optimizer (fast on GPUs).",
    )
    parser.add_argument("--jit", action="store_true", help="Compile the training step with XLA.")
    parser.add_argument("--note", default="", help="Why this run: a line kept with the run (shown on /runs/).")


def keras_verbose(verbosity, stdout):
    """model.fit's `verbose`: Keras' progress bar on a terminal (or with -v 2), one line per epoch
    in a log that is not a terminal (the bar's escape codes have no place there), none with -v 0."""
    if verbosity == 0:
        return 0
    interactive = getattr(getattr(stdout, "_out", stdout), "isatty", lambda: False)()
    return 1 if interactive or verbosity > 1 else 2


def choose_strategy(name):
    """(strategy, description) for a --distribute value; `auto` looks at the host."""
    import tensorflow as tf

    _split_cpu_for_trying_distribution(tf)
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        if os.environ.get("TF_CONFIG"):
            name, why = "multiworker", "TF_CONFIG is set"
        elif len(gpus) > 1:
            name, why = "mirrored", f"{len(gpus)} GPUs found"
        else:
            name, why = "none", f"{len(gpus) or 'no'} GPU{'s' if len(gpus) != 1 else ''} found"
    else:
        why = "--distribute " + name
    if name == "none":
        device = "GPU" if gpus else "CPU"
        return tf.distribute.get_strategy(), f"no distribution, one {device} ({why})"
    if name == "mirrored":
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(None if gpus or len(cpus) < 2 else cpus)
        return strategy, f"MirroredStrategy over {strategy.num_replicas_in_sync} replicas ({why})"
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise CommandError("--distribute multiworker needs TF_CONFIG listing the workers (see the README).")
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"TF_CONFIG is not valid JSON: {exc}") from None
        _fix_keras_for_multiworker()
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            if "configured at program startup" not in str(exc):
                raise
            raise CommandError(
                "--distribute multiworker must set TensorFlow up before anything else uses it: build no "
                "model and run no TensorFlow op before training.start_run."
            ) from exc
        workers = len(cluster.get("cluster", {}).get("worker", []))
        return strategy, (
            f"MultiWorkerMirroredStrategy, {workers} workers, {strategy.num_replicas_in_sync} replicas in all ({why})"
        )
    raise CommandError(f"Unknown --distribute {name!r}; choose from {', '.join(DISTRIBUTE_CHOICES)}.")


def _fix_keras_for_multiworker():
    """Two fixes to Keras 3's fit() under MultiWorkerMirroredStrategy (Keras 3.15, TF 2.21).

    1. Before training, Keras builds the model from one batch it gets with
       `strategy.reduce("MEAN", batch)` over the whole (x, y) structure, which the collective
       reduce cannot take ("ValueError: Attempt to convert a value (PerReplica…) … to a Tensor").
       The batch only gives the model its shapes, so this replica's own values do the same job.
    2. Each step's metrics are averaged over the workers with `strategy.reduce("MEAN", v, axis=0)`,
       which fails on the scalar per-replica metrics ("Invalid reduction dimension 0 for input with
       0 dimensions"). The single-host path averages them element-wise over the replicas; across
       workers that is `axis=None`.

    Both are process-wide and idempotent; they change nothing for the other strategies.
    """
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    Trainer = tf_trainer.TensorFlowTrainer
    if getattr(Trainer._maybe_symbolic_build, "deepboot_fixed", False):
        return
    original_build = Trainer._maybe_symbolic_build
    original_reduce = tf_trainer.reduce_per_replica

    def _local(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or not tf_trainer._collective_all_reduce_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            data_batch = tree.map_structure(lambda value: _local(strategy, value), next(it))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original_reduce(values, strategy, reduction)

    _maybe_symbolic_build.deepboot_fixed = True
    Trainer._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica


def _split_cpu_for_trying_distribution(tf):
    """DEEPBOOT_LOGICAL_CPUS=N splits the CPU into N logical devices, so the mirrored path can be
    tried (and tested) on a host without GPUs. It must happen before TensorFlow starts its runtime."""
    count = int(os.environ.get("DEEPBOOT_LOGICAL_CPUS", "0") or 0)
    if count < 2:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        log.warning("DEEPBOOT_LOGICAL_CPUS=%s ignored: TensorFlow had already started.", count)


def run_arguments(options):
    """The options that define a run, JSON-safe (paths as strings)."""
    clean = {k: v for k, v in options.items() if k not in _NOT_PART_OF_THE_RUN}
    return json.loads(json.dumps(clean, default=str, sort_keys=True))


def resume_key(command, arguments):
    """Same command and arguments, same key: that is how a rerun finds the run it resumes."""
    relevant = {k: v for k, v in arguments.items() if k not in ("activate", "note")}
    text = json.dumps([command, relevant], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def worker_index():
    """This process's index among the TF_CONFIG workers (0 without TF_CONFIG)."""
    try:
        return int(json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0))
    except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
        return 0


def is_chief():
    """Whether this process is the one that records, saves and registers: worker 0 of TF_CONFIG
    ("chief" or "worker" type), or the only process when there is no TF_CONFIG."""
    try:
        task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}) or {}
    except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
        return True
    if task.get("type") == "chief":
        return True
    if task.get("type") not in (None, "worker"):
        return False  # evaluator, ps
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {}) or {}
    if cluster.get("chief"):
        return False  # an explicit chief exists, so every "worker" is a follower
    return worker_index() == 0


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


class Run:
    """A training run in progress: its strategy, flags, database record and backup folder."""

    def __init__(self, record, strategy, mixed_precision, jit, stdout, chief=True, verbose=1):
        self.record = record
        self.verbose = verbose
        self._boards = {}
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
        return [
            *extra,
            keras.callbacks.BackupAndRestore(str(backup), save_freq="epoch", delete_checkpoint=True),
            *board,
            _EpochRecorder(self, stage),
        ]

    @property
    def tensorboard_dir(self):
        """var/runs/run-<id>-<command>-<start>/: TensorBoard's event files, one folder per stage
        (`tensorboard --logdir var/runs`). The start (to the microsecond) keeps a reused id (a
        deleted run's) apart."""
        return tensorboard_dir(self.record)

    def output_dir(self, default):
        """The run's one output folder: `default` for a new run, the first attempt's after a resume.
        (A follower worker keeps its own `default`.)"""
        if not self.is_chief:
            return Path(default)
        if self.record.output_dir:
            return _absolute(self.record.output_dir)
        self.record.output_dir = _relative(default)
        self.record.save(update_fields=["output_dir", "updated"])
        return Path(default)

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
        self.record.artifacts = {**self.record.artifacts, name: _relative(path)}
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


def tensorboard_dir(record):
    """Where a run's TensorBoard event files are (see Run.tensorboard_dir)."""
    started = timezone.localtime(record.started).strftime("%Y%m%d-%H%M%S.%f")
    return Path(settings.VAR_DIR) / "runs" / f"run-{record.pk}-{record.command}-{started}"


def _relative(path):
    """A path relative to var/ when it is inside, else absolute, as a string."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(settings.VAR_DIR).resolve()))
    except ValueError:
        return str(path)


def _absolute(stored):
    return Path(settings.VAR_DIR) / stored if not Path(stored).is_absolute() else Path(stored)


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


class _EpochRecorder:
    """A Keras callback (built lazily so this module imports without Keras) recording each epoch."""

    def __new__(cls, run, stage):
        import keras

        class EpochRecorder(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if run.is_chief:  # Keras' TensorBoard callback writes these
                    record_epoch(run.record, epoch + 1, logs or {}, stage)

        return EpochRecorder()


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


def _find_or_create_record(command, arguments, task, architecture, started_by):
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


def _follower_record(command, arguments, task, architecture):
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


@contextmanager
def _sigterm_as_interrupt():
    """A SIGTERM (a scheduler stopping the job) ends the run as 'interrupted', like Ctrl-C."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _precision(mixed):
    import keras

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@contextmanager
def start_run(command, options, *, task="", architecture="", stdout=None, started_by=None, total=None, unit="epoch"):
    """Record a training run for the duration of the block; see the module docstring.

    started_by: the staff user when the site starts it (default: the OS user). total and unit say
    how far a stopped run got ("interrupted after epoch 1 of 6"; default total: --epochs).
    A SIGTERM or Ctrl-C ends the block with that one line and SystemExit(130), no traceback."""
    stdout = stdout or sys.stdout
    total = total if total is not None else options.get("epochs")
    arguments = run_arguments(options)
    strategy, description = choose_strategy(options.get("distribute") or "auto")
    mixed = bool(options.get("mixed_precision"))
    jit = bool(options.get("jit"))
    chief = is_chief()
    if chief:
        record, resumed = _find_or_create_record(command, arguments, task, architecture,
                                                 started_by or attempts.os_user())
    else:
        record, resumed = _follower_record(command, arguments, task, architecture), False
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
              verbose=keras_verbose(options.get("verbosity", 1), stdout))
    if resumed:
        stdout.write(f"Resuming run #{record.pk} from its last checkpoint (same command line).")
    elif not chief and any(run.backup_dir.iterdir()):
        stdout.write("Resuming this worker from its last checkpoint (same command line).")
    if chief:
        publish(record, {"event": "started"})
    try:
        with _sigterm_as_interrupt(), _precision(mixed):
            yield run
    except KeyboardInterrupt:
        line = attempts.interrupted_line(record, total, unit)
        _finish(run, TrainingRun.Status.INTERRUPTED, line)
        stdout.write(("\n" if run.verbose == 1 else "") + line)
        raise SystemExit(130) from None
    except BaseException as exc:
        _finish(run, TrainingRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
        raise
    else:
        _finish(run, TrainingRun.Status.FINISHED, "")
        stdout.write(f"Run #{record.pk} finished." if chief else f"Worker {worker_index()} finished.")


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
    if not run.is_chief:
        return
    record.status = status
    record.error = error
    record.finished = timezone.now()
    record.save(update_fields=["status", "error", "finished", "updated"])
    attempts.end(record, status, error)
    publish(record, {"event": status})
