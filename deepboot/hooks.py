"""The trainer contract shared by the three apps, and seeding.

Every app's `train.py` exposes

    train(config, out_dir, hooks=TrainHooks()) -> TrainResult

`config` is the app's frozen config dataclass (its fields are the command's flags), `out_dir` the
folder the run writes its files to, and `hooks` what the caller plugs in: a recorded run on the site
(`registry.run.Run.hooks()`) gives its strategy, precision, checkpoint-and-record callbacks and
the epochs of earlier attempts; a test or a benchmark passes `TrainHooks()` or a few fields of it.
The trainer knows nothing of Django, the database or the command line.
"""

import contextlib
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from .stopping import Stopper


def _fit_callbacks_only(stage, extra):
    return list(extra)


def _no_earlier_epochs(stage):
    return []


def _ignore_epoch(epoch, metrics, stage=None):
    pass


@dataclass
class TrainHooks:
    """What a trainer gets from whoever runs it. Every field has a default that trains alone."""

    strategy: Any = None
    """A tf.distribute strategy to build the model in (None: TensorFlow's default)."""
    mixed_precision: bool = False
    """Build the model with the mixed_float16 policy (`with hooks.precision():`)."""
    jit: bool = False
    """Compile with XLA (model.compile(jit_compile=hooks.jit))."""
    verbose: Any = "auto"
    """model.fit's verbose: 1 a progress bar, 2 a line per epoch, 0 silent."""
    stdout: Any = None
    """Where `say` writes (a Django OutputWrapper, sys.stdout); None is silent."""
    callbacks: Callable[[str, list], list] = _fit_callbacks_only
    """callbacks(stage, extra) -> the list for one model.fit of `stage` (the caller's checkpoints
    and epoch records wrap the trainer's `extra`). One stage name per fit of a run."""
    log_epoch: Callable[..., None] = _ignore_epoch
    """log_epoch(epoch, metrics, stage=None): a custom loop's epoch, recorded like fit's."""
    earlier_epochs: Callable[[str], list] = _no_earlier_epochs
    """earlier_epochs(stage): the epoch rows a resumed run's earlier attempts recorded."""
    resume_dir: Optional[Path] = None
    """Where a custom loop keeps the state it resumes from (None: it does not resume)."""
    stopper: Stopper = field(default_factory=Stopper)
    """The run's stop (SIGTERM, Ctrl-C), held from the run's start (registry/training.py): a custom
    loop calls `hooks.safe_point()` where a stop may end it (between games). The default one
    never stops."""
    extra: dict = field(default_factory=dict)

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    def global_batch_size(self, per_replica):
        """The batch a tf.data pipeline yields: the per-replica batch times the replicas."""
        return per_replica * self.replicas

    def scope(self):
        """Build and compile models inside this (the strategy's scope, or nothing)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def precision(self):
        """The dtype policy of `mixed_precision`, for the block that builds the model."""
        from .distribute import precision

        return precision(self.mixed_precision)

    def safe_point(self):
        """Where a custom loop may end on a stop that came since: nothing half-done, the last
        saved state is whole (raises KeyboardInterrupt, which the run records as interrupted)."""
        self.stopper.raise_pending()

    def say(self, text):
        if self.stdout is not None:
            self.stdout.write(text if text.endswith("\n") else text + "\n")


def printing_hooks(**fields):
    """TrainHooks that say what happens on this process's standard output (scripts, benchmarks)."""
    return TrainHooks(stdout=sys.stdout, **fields)


def seed_everything(seed, deterministic_ops=True):
    """The one place a run is seeded: Python's random, NumPy and Keras (which seeds its backend).

    deterministic_ops asks TensorFlow for deterministic kernels too, so one seed on one machine
    gives one result (slower on GPUs; some ops then refuse to run)."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic_ops and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def linear_schedule(start, end, duration, t):
    """Goes linearly from `start` to `end` over `duration` steps, then stays at `end` (ε-greedy
    exploration, learning-rate warm-up)."""
    slope = (end - start) / max(duration, 1)
    value = slope * t + start
    return max(value, end) if end < start else min(value, end)
