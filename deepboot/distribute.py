"""The distribution strategy of a training run (`--distribute`), which process of a multi-worker
run is the chief, and the precision policy (`--mixed-precision`). Used through
registry/training.py's Run and deepboot/hooks.py's TrainHooks."""

import json
import logging
import os
from contextlib import contextmanager


log = logging.getLogger(__name__)


class DistributeError(ValueError):
    """A strategy that cannot be set up as asked; the message says what to change."""

DISTRIBUTE_CHOICES = ("auto", "none", "mirrored", "multiworker")


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
            raise DistributeError("--distribute multiworker needs TF_CONFIG listing the workers (see the README).")
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise DistributeError(f"TF_CONFIG is not valid JSON: {exc}") from None
        _fix_keras_for_multiworker()
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            if "configured at program startup" not in str(exc):
                raise
            raise DistributeError(
                "--distribute multiworker must set TensorFlow up before anything else uses it: build no "
                "model and run no TensorFlow op before training.start_run."
            ) from exc
        workers = len(cluster.get("cluster", {}).get("worker", []))
        return strategy, (
            f"MultiWorkerMirroredStrategy, {workers} workers, {strategy.num_replicas_in_sync} replicas in all ({why})"
        )
    raise DistributeError(f"Unknown --distribute {name!r}; choose from {', '.join(DISTRIBUTE_CHOICES)}.")


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


@contextmanager
def precision(mixed):
    """Keras' dtype policy for the block: mixed_float16 (float16 compute, float32 variables, a
    loss-scaling optimizer) or float32; the previous policy is back afterwards."""
    import keras

    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_float16" if mixed else "float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
