"""TensorBoard event files for every run, written by Keras' own `keras.callbacks.TensorBoard`.

TensorFlow 2.21 no longer installs the `tensorboard` package, and without it `tf.summary.scalar`
(which the callback calls for each epoch's metrics) raises TBNotInstalledError. The event files
themselves are TensorFlow's (`tf.summary.create_file_writer`, `tf.summary.write`), so the callback
is given the summary module it expects with `scalar` written the way TensorBoard's own
`tensorboard.summary.v2.scalar` writes it: a float32 tensor tagged for the "scalars" plugin.
Where `tensorboard` is installed, its own `scalar` is used. Reading the files needs TensorBoard
itself (`pip install tensorboard`; `tensorboard --logdir var/runs`), on any machine.
"""

SCALARS_PLUGIN = "scalars"


class _Summary:
    """`tf.summary`, with `scalar` that works without the tensorboard package."""

    def __init__(self):
        import tensorflow as tf

        self._tf = tf

    def __getattr__(self, name):
        return getattr(self._tf.summary, name)

    def scalar(self, name, data, step=None, description=None):
        tf = self._tf
        try:
            from tensorboard.summary.v2 import scalar as tensorboard_scalar
        except ImportError:
            pass
        else:
            return tensorboard_scalar(name=name, data=data, step=step, description=description)
        from tensorflow.core.framework.summary_pb2 import SummaryMetadata

        metadata = SummaryMetadata(summary_description=description or "")
        metadata.plugin_data.plugin_name = SCALARS_PLUGIN
        metadata.plugin_data.content = b""  # ScalarPluginData(version=0), serialised
        with tf.summary.experimental.summary_scope(name, "scalar_summary", values=[data, step]) as (tag, _):
            return tf.summary.write(tag=tag, tensor=tf.cast(data, tf.float32), step=step, metadata=metadata)


def tensorboard_callback(log_dir):
    """Keras' TensorBoard callback writing epoch metrics (and the model's graph) under `log_dir`."""
    import keras

    callback = keras.callbacks.TensorBoard(str(log_dir))
    callback._summary_module = _Summary()  # the module the callback reads through its `summary` property
    return callback


class ScalarWriter:
    """Epoch metrics of a training loop that does not use `fit` (the tic-tac-toe learners), written
    as Keras' callback writes them: `epoch_<name>` under `train/`, `val_<name>` under `validation/`."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self._writers = {}
        self._summary = None

    def write(self, step, metrics):
        if self._summary is None:
            self._summary = _Summary()
        for name, value in metrics.items():
            if not isinstance(value, (int, float)):
                continue
            folder, name = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            if folder not in self._writers:
                self._writers[folder] = self._summary.create_file_writer(str(self.log_dir / folder))
            with self._writers[folder].as_default():
                self._summary.scalar(f"epoch_{name}", float(value), step=int(step))
        for writer in self._writers.values():
            writer.flush()
