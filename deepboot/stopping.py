"""SIGTERM (a scheduler stopping the job) and Ctrl-C (SIGINT) during a training run.

Both end the run as interrupted (registry/training.py), with a KeyboardInterrupt raised only at a
safe point, never where the signal happened to land. From the moment its record says "running",
a run holds stops: a signal is only noted, and raised where the run says it may be:
- inside `model.fit`, by the run's last callback at a batch's end (training or validation) or
  after the epoch's end, once the checkpoints a resume loads are written (a write cut short
  leaves a file that cannot be loaded);
- in a custom loop (the tic-tac-toe learners), at its `raise_pending()` between two games
  (`TrainHooks.safe_point()`);
- when the run's block ends, if the run finished meanwhile (it is recorded finished, and the
  process stops there instead of going on to its next run).
Raised anywhere else, the KeyboardInterrupt lands inside TensorFlow (its C++ calls back into
Python while it traces a tf.data pipeline or runs a step) and came out as "SystemError: ...
returned a result with an exception set" or "bad argument to internal function": the run was
recorded as failed, not interrupted (both seen in `make run`'s test). So a stop that comes while
a run loads its data or traces its step waits for the first batch's end.

The handler covers the whole run, from before its record says "running" until it says how the run
ended: a stop that came earlier would leave a record that says "running" for a dead process, and a
second signal while the run is being marked interrupted (`make run` sends SIGTERM to the process
group and its shell's trap sends another) would kill it half-way. So the first signal stops the
run and later ones are ignored.
"""

import faulthandler
import signal
from contextlib import contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGINT)
EXIT_GRACE_SECONDS = 30


@contextmanager
def exit_watched(seconds=EXIT_GRACE_SECONDS):
    """For a process's entry point (manage.py): the process ends at most `seconds` after the block
    does, and says where it was stuck if it had to be ended.

    Once a command has finished, failed or been stopped, its record is written and nothing is left
    to do but exit; a thread left running (a library's) would keep the process, and `make run`
    waiting for it, there for ever. Past `seconds`, faulthandler prints every thread's stack to
    stderr and ends the process with status 1.
    Meanwhile, `kill -USR1 <pid>` prints every thread's stack of a process that seems stuck."""
    stacks_on_sigusr1()
    try:
        yield
    finally:
        end_within(seconds)


def stacks_on_sigusr1():
    """`kill -USR1 <pid>` prints every thread's stack to stderr (a process that seems stuck)."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def end_within(seconds=EXIT_GRACE_SECONDS):
    """A process on its way out: if it is still there after `seconds`, faulthandler prints every
    thread's stack to stderr and ends it with status 1."""
    faulthandler.dump_traceback_later(seconds, exit=True)


class Stopper:
    """The run's signal handler, with windows (`hold` … `release`, nested: the run's, and fit's
    inside it) where a stop waits."""

    def __init__(self):
        self.holds = 0
        self.pending = None
        self.stopping = False

    @property
    def holding(self):
        return self.holds > 0

    def handler(self, signum, frame):
        if self.stopping:
            return  # already stopping: let the run finish saying so
        if self.holding:
            self.pending = signum
            return
        self.stopping = True
        raise KeyboardInterrupt(f"signal {signum}")

    def hold(self):
        self.holds += 1

    def release(self):
        """End one window; when none is left, raise a stop that came during it."""
        self.holds = max(0, self.holds - 1)
        if not self.holding:
            self.raise_pending()

    def raise_pending(self):
        """Raise a stop held so far, if there is one (still holding any that follow)."""
        if self.pending is not None and not self.stopping:
            signum, self.pending = self.pending, None
            self.stopping = True
            raise KeyboardInterrupt(f"signal {signum}")

    @contextmanager
    def installed(self):
        """Handle SIGTERM and SIGINT for the block (in the main thread only; elsewhere, leave them)."""
        previous = {}
        try:
            for signum in SIGNALS:
                previous[signum] = signal.signal(signum, self.handler)
        except ValueError:  # not the main thread
            pass
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def callbacks(self):
        """(first, last): Keras callbacks to put first and last in fit's list. A stop during fit is
        held from its start and raised by the last callback at a batch's end, or at the epoch's end
        once every other callback has run (checkpoints written, epoch recorded)."""
        import keras

        stopper = self

        class HoldStops(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                stopper.hold()

        class ReleaseStops(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                stopper.raise_pending()

            def on_test_batch_end(self, batch, logs=None):
                stopper.raise_pending()

            def on_epoch_end(self, epoch, logs=None):
                stopper.raise_pending()

            def on_train_end(self, logs=None):
                stopper.release()

        return HoldStops(), ReleaseStops()
