"""A training run in progress (`Run`), as `start_run` (registry/training.py) yields it: its
strategy and precision flags, its database record, its checkpoint folder for Keras'
BackupAndRestore, its TensorBoard folder, and the one output folder a resumed run keeps.

`run.hooks()` plugs it into an app's trainer (deepboot/hooks.py TrainHooks); `run.callbacks()`
gives one model.fit its checkpoint-and-record callbacks; custom loops call `run.log_epoch`. Only
the chief of a multi-worker run records epochs and artefacts; the others train silently.
"""

import shutil
import tempfile
from pathlib import Path

from deepboot.board import ScalarWriter, tensorboard_callback
from deepboot.hooks import TrainHooks
from deepboot.stopping import Stopper

from .records import backup_root, record_epoch, relative_to_var, tensorboard_dir, var_path


class Run:
    """A training run in progress: its strategy, flags, database record and backup folder."""

    def __init__(self, record, strategy, mixed_precision, jit, stdout, chief=True, worker=0, verbose=1, stopper=None):
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
            self.backup_dir = self.backup_dir / f"worker-{worker}"
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
        hold, release = self.stopper.callbacks()  # a stop in fit: at a batch end, or after the checkpoints
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
        the epochs of earlier attempts, the folder a custom loop resumes from, and the run's stop."""
        return TrainHooks(
            strategy=self.strategy, mixed_precision=self.mixed_precision, jit=self.jit, verbose=self.verbose,
            stdout=self.stdout, callbacks=lambda stage, extra: self.callbacks(extra, stage),
            log_epoch=self.log_epoch, earlier_epochs=self.earlier_epochs, resume_dir=self.backup_dir,
            stopper=self.stopper, **fields,
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

    def register(self, task, architecture, path, *, artefacts=None, activate=False, **fields):
        """Record the files the run made (`artefacts`: {name: path}), register the model at `path`
        (`fields` as registry.register takes them) and link the run to it. The chief does; another
        worker of a multi-worker run registers nothing and gets None."""
        if not self.is_chief:
            return None
        from .registry import register

        for name, artefact in (artefacts or {}).items():
            self.add_artifact(name, artefact)
        record = register(task, architecture, path, activate=activate, **fields)
        self.set_model(record)
        return record

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


    def remove_folders(self, finished):
        """A follower's scratch folder always; once `finished`, this worker's checkpoints too (nothing
        is left to resume: the next identical command line starts a new run). The chief leaves the
        other workers' folders (a shared var/) to them; the last one out removes the key's folder."""
        if finished:
            if self.is_chief:
                for path in list(self.backup_dir.iterdir()) if self.backup_dir.exists() else ():
                    if not path.name.startswith("worker-"):
                        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            else:
                shutil.rmtree(self.backup_dir, ignore_errors=True)
            try:
                backup_root(self.record.resume_key).rmdir()
            except OSError:
                pass  # another worker's checkpoints are still there
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


def epoch_recorder(run, stage):
    """A Keras callback recording each epoch of `stage` on the chief. Keras is imported here, when
    a run builds its callbacks, so this module imports without it."""
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if run.is_chief:  # Keras' TensorBoard callback writes these
                record_epoch(run.record, epoch + 1, logs or {}, stage)

    return EpochRecorder()
