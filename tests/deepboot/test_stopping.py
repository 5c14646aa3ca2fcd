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


def _python(code, **kwargs):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def test_a_process_whose_exit_is_stuck_ends_within_the_grace_and_shows_its_stacks():
    """A thread left running would keep the interpreter from exiting for ever; after the grace the
    process ends, status 1, with every thread's stack on stderr."""
    process = _python(
        "import threading, time\n"
        "from deepboot.stopping import exit_watched\n"
        "def stuck_in_a_library():\n"
        "    time.sleep(3600)\n"
        "with exit_watched(seconds=1):\n"
        "    threading.Thread(target=stuck_in_a_library).start()\n"
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "Timeout" in stderr and "stuck_in_a_library" in stderr


def test_a_process_that_exits_normally_keeps_its_status_and_sigusr1_prints_its_stacks():
    import time

    process = _python(
        "import sys, time\n"
        "from deepboot.stopping import exit_watched\n"
        "def waiting_here():\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(3)\n"
        "with exit_watched(seconds=1):\n"
        "    waiting_here()\n"
        "sys.exit(130)\n"
    )
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    process.send_signal(signal.SIGUSR1)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130  # the exit was not stuck: its own status
    assert "waiting_here" in stderr and "Timeout" not in stderr


def test_windows_nest_and_a_safe_point_raises_inside_any_of_them():
    stopper = Stopper()
    with stopper.installed():
        stopper.hold()  # the run
        stopper.hold()  # fit inside it
        os.kill(os.getpid(), signal.SIGTERM)
        stopper.release()  # fit's window ends without raising: the run still holds
        with pytest.raises(KeyboardInterrupt):
            stopper.raise_pending()  # the next safe point
