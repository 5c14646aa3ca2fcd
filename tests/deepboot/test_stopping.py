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
