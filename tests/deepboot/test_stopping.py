"""The run's signal handler: a stop waits out the checkpoint window, and a second signal while the
run is being recorded as stopped does not kill it half-way (`make run` sends two)."""

import os
import signal

import pytest

from deepboot.stopping import Stopper


def test_a_signal_raises_once_and_the_next_ones_are_ignored_while_stopping():
    stopper = Stopper()
    with stopper.installed():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
        # The run is now recording "interrupted": the shell's second SIGTERM must not end that.
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_signal_in_the_held_window_is_raised_on_release():
    stopper = Stopper()
    with stopper.installed():
        stopper.hold()
        os.kill(os.getpid(), signal.SIGTERM)  # held: checkpoints are being written
        with pytest.raises(KeyboardInterrupt):
            stopper.release()
        os.kill(os.getpid(), signal.SIGINT)  # already stopping


def test_a_signal_during_fit_ends_it_at_the_end_of_that_batch_not_inside_the_step():
    """Inside fit a signal is only noted; the last callback raises it when the batch has ended
    (raised inside TensorFlow's step it came out as a SystemError and the run looked failed)."""
    import keras
    import numpy as np

    ended = []

    class SignalOnThirdBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGTERM)

        def on_train_batch_end(self, batch, logs=None):
            ended.append(batch)

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((64, 4), "float32"), np.zeros((64, 1), "float32")
    stopper = Stopper()
    with stopper.installed():
        hold, release = stopper.callbacks()
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[hold, SignalOnThirdBatch(), release])
    assert ended == [0, 1, 2]  # batch 2 ran to its end; nothing after it
