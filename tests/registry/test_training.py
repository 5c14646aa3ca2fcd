"""The shared training run: strategy choice, per-epoch records, statuses and resuming."""

import json
import os
from io import StringIO

import numpy as np
import pytest

from deepboot.distribute import DistributeError
from django.core.management.base import CommandError

from registry import training
from registry.models import TrainingRun

OPTIONS = {"epochs": 3, "distribute": "none", "mixed_precision": False, "jit": False, "verbosity": 1, "activate": True}


def tiny_fit(run, epochs=3, extra=()):
    import keras

    keras.utils.set_random_seed(0)
    with run.strategy.scope():
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(2, activation="softmax", dtype="float32")(keras.layers.Dense(8)(inputs))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=run.jit)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    return model.fit(x, y, epochs=epochs, batch_size=run.global_batch_size(16), verbose=0, callbacks=run.callbacks(extra))


def test_resume_key_ignores_django_options_and_activate():
    base = training.run_arguments(OPTIONS)
    assert "verbosity" not in base
    again = training.run_arguments({**OPTIONS, "verbosity": 3, "activate": False})
    assert training.resume_key("train_x", base) == training.resume_key("train_x", again)
    assert training.resume_key("train_x", base) != training.resume_key("train_x", {**base, "epochs": 4})


def test_the_note_is_not_part_of_the_resume_key():
    base = training.run_arguments(OPTIONS)
    noted = training.run_arguments({**OPTIONS, "note": "why"})
    assert training.resume_key("train_x", base) == training.resume_key("train_x", noted)


@pytest.mark.parametrize("verbosity, tty, expected", [(1, True, 1), (1, False, 2), (2, False, 1), (0, True, 0)])
def test_keras_draws_its_progress_bar_only_on_a_terminal(verbosity, tty, expected):
    class Stream(StringIO):
        def isatty(self):
            return tty

    assert training.keras_verbose(verbosity, Stream()) == expected


@pytest.mark.django_db
def test_ctrl_c_prints_where_the_run_stopped_and_records_the_attempt():
    from django.core.management.base import OutputWrapper

    out = StringIO()
    with pytest.raises(SystemExit) as stopped:
        with training.start_run("train_toy", {**OPTIONS, "note": "first try"}, stdout=OutputWrapper(out)) as run:
            training.record_epoch(run.record, 1, {"loss": 0.5})
            raise KeyboardInterrupt
    record = TrainingRun.objects.get()
    line = f"Run #{record.pk} interrupted after epoch 1 of 3; run the same command to resume."
    assert stopped.value.code == 130 and out.getvalue().splitlines()[-1] == line
    assert record.error == line and record.note == "first try"
    assert list(record.attempts.values_list("number", "outcome", "error")) == [(1, "interrupted", line)]


@pytest.mark.django_db
def test_a_run_writes_tensorboard_event_files_under_var_runs():
    with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
        tiny_fit(run)
    from tests.registry.test_attempts import tensorboard_steps

    assert run.tensorboard_dir.parent == training.backup_root("k").parent.parent
    assert run.tensorboard_dir.name.startswith(f"run-{run.record.pk}-train_toy-")
    assert tensorboard_steps(run.tensorboard_dir / "fit" / "train", "epoch_loss") == [0, 1, 2]


def test_unknown_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DistributeError, match="TF_CONFIG"):
        training.choose_strategy("multiworker")


def test_auto_on_a_cpu_host_says_why():
    strategy, description = training.choose_strategy("auto")
    assert strategy.num_replicas_in_sync == 1
    assert "no GPU" in description


@pytest.mark.django_db
def test_a_run_records_each_epoch_and_finishes():
    out = StringIO()
    with training.start_run("train_toy", OPTIONS, task="classification", architecture="toy", stdout=out) as run:
        history = tiny_fit(run)
        run.add_artifact("curves", run.backup_dir.parent / "curves.png")
    record = TrainingRun.objects.get()
    assert record.status == "finished" and record.finished is not None
    assert [e["epoch"] for e in record.epochs] == [1, 2, 3]
    assert record.epochs[-1]["loss"] == pytest.approx(history.history["loss"][-1])
    assert record.artifacts["curves"].endswith("curves.png")
    assert "no distribution" in record.distribute and f"Run #{record.pk}" in out.getvalue()
    assert not (run.backup_dir).exists(), "a finished run leaves no checkpoint behind"


@pytest.mark.django_db
def test_an_error_marks_the_run_failed_and_a_ctrl_c_interrupted():
    with pytest.raises(ValueError):
        with training.start_run("train_toy", OPTIONS, stdout=StringIO()):
            raise ValueError("bad data")
    with pytest.raises(SystemExit) as stopped:
        with training.start_run("train_toy", {**OPTIONS, "epochs": 9}, stdout=StringIO()):
            raise KeyboardInterrupt
    assert stopped.value.code == 130
    statuses = dict(TrainingRun.objects.values_list("arguments__epochs", "status"))
    assert statuses == {3: "failed", 9: "interrupted"}
    assert "ValueError: bad data" in TrainingRun.objects.get(status="failed").error


@pytest.mark.django_db
def test_the_same_command_line_resumes_from_the_last_epoch():
    import keras

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(SystemExit):
        with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
            tiny_fit(run, extra=[StopAfterTwo()])
    out = StringIO()
    with training.start_run("train_toy", OPTIONS, stdout=out) as run:
        history = tiny_fit(run)
    record = TrainingRun.objects.get()
    assert "Resuming run" in out.getvalue() and record.resumed == 1
    assert len(history.history["loss"]) == 1, "only the epoch left was trained"
    assert [e["epoch"] for e in record.epochs] == [1, 2, 3] and record.status == "finished"


@pytest.mark.django_db
def test_mixed_precision_reaches_the_trainer_in_its_hooks_not_as_global_state():
    import keras

    with training.start_run("train_toy", {**OPTIONS, "mixed_precision": True}, stdout=StringIO()) as run:
        hooks = run.hooks()
        assert hooks.mixed_precision and keras.config.dtype_policy().name == "float32"
        with hooks.precision():  # where the trainer builds its model
            assert keras.config.dtype_policy().name == "mixed_float16"
        assert keras.config.dtype_policy().name == "float32"


def dead_pid():
    """The id of a process that has just exited (so no process has it now)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.django_db
def test_a_running_run_whose_process_is_gone_is_marked_interrupted():
    import os
    import socket

    gone = TrainingRun.objects.create(command="train_toy", resume_key="a", host=socket.gethostname(), pid=dead_pid())
    alive = TrainingRun.objects.create(command="train_toy", resume_key="b", host=socket.gethostname(), pid=os.getpid())
    elsewhere = TrainingRun.objects.create(command="train_toy", resume_key="c", host="another-host", pid=dead_pid())
    reaped = training.reap_dead_runs()
    assert [r.pk for r in reaped] == [gone.pk]
    gone.refresh_from_db()
    assert gone.status == "interrupted" and "is gone" in gone.error and gone.finished is not None
    assert TrainingRun.objects.get(pk=alive.pk).status == "running"
    assert TrainingRun.objects.get(pk=elsewhere.pk).status == "running", "other hosts' processes are not visible here"


@pytest.mark.django_db
def test_a_run_records_its_host_and_pid():
    import os
    import socket

    with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
        assert (run.record.host, run.record.pid) == (socket.gethostname(), os.getpid())
        assert run.is_chief


@pytest.mark.django_db
def test_the_same_command_line_is_refused_while_its_run_is_alive():
    import os
    import socket

    key = training.resume_key("train_toy", training.run_arguments(OPTIONS))
    TrainingRun.objects.create(command="train_toy", resume_key=key, host=socket.gethostname(), pid=os.getppid())
    with pytest.raises(CommandError, match="still running"):
        with training.start_run("train_toy", OPTIONS, stdout=StringIO()):
            pass


@pytest.mark.parametrize(
    "tf_config, chief",
    [
        (None, True),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}', True),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}', False),
        ('{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}', False),
        ('{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "chief", "index": 0}}', True),
    ],
)
def test_only_the_first_worker_or_the_named_chief_is_chief(monkeypatch, tf_config, chief):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert training.is_chief() is chief


@pytest.mark.django_db
def test_a_follower_worker_trains_but_records_nothing(monkeypatch):
    import keras

    monkeypatch.setattr(training, "is_chief", lambda: False)
    monkeypatch.setattr(training, "worker_index", lambda: 1)
    out = StringIO()
    with training.start_run("train_toy", OPTIONS, stdout=out) as run:
        history = tiny_fit(run, epochs=2)
        run.add_artifact("model", run.backup_dir / "model.keras")
        assert run.backup_dir.name == "worker-1"
    assert len(history.history["loss"]) == 2 and not run.is_chief
    assert TrainingRun.objects.count() == 0 and "Worker 1" in out.getvalue()
    assert not run.backup_dir.exists()
    assert keras.config.dtype_policy().name == "float32"


def test_multiworker_after_tensorflow_started_is_a_clear_error(monkeypatch):
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # TensorFlow is running in this process now
    cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    with pytest.raises(DistributeError, match="before training.start_run"):
        training.choose_strategy("multiworker")


@pytest.mark.django_db
def test_a_run_left_running_by_another_host_is_taken_over_by_the_same_command_line():
    key = training.resume_key("train_toy", training.run_arguments(OPTIONS))
    lost = TrainingRun.objects.create(command="train_toy", resume_key=key, host="lost-gpu-host", pid=1)
    with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
        assert run.record.pk != lost.pk, "no checkpoint of it here: a new run starts"
    assert TrainingRun.objects.get(pk=run.record.pk).status == "finished"


@pytest.mark.django_db
def test_taking_over_another_hosts_run_ends_its_attempt_and_starts_one():
    from registry import attempts
    from registry.models import RunAttempt

    key = training.resume_key("train_toy", training.run_arguments(OPTIONS))
    lost = TrainingRun.objects.create(command="train_toy", resume_key=key, host="lost-gpu-host", pid=1)
    attempts.begin(lost, "manage.py train_toy", {}, "ada")
    RunAttempt.objects.filter(run=lost).update(host="lost-gpu-host", pid=1)
    training.backup_root(key).mkdir(parents=True)
    with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
        assert run.record.pk == lost.pk, "its checkpoints are here: the same run resumes"
    first, second = RunAttempt.objects.filter(run=lost)
    assert (first.host, first.outcome) == ("lost-gpu-host", "interrupted") and "Taken over" in first.error
    assert second.outcome == "finished" and second.pid == os.getpid()


@pytest.mark.django_db
def test_a_sigterm_while_an_epoch_ends_waits_until_its_checkpoint_is_written_and_recorded():
    import signal

    import keras

    class TermAtTheEndOfEpochTwo(keras.callbacks.Callback):
        """Sends the signal from inside the epoch's end, before the checkpoint is written."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(SystemExit) as stopped:
        with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
            tiny_fit(run, extra=[TermAtTheEndOfEpochTwo()])
    assert stopped.value.code == 130
    record = TrainingRun.objects.get()
    assert [e["epoch"] for e in record.epochs] == [1, 2], "epoch 2 ended before the stop"
    with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
        history = tiny_fit(run)
    assert len(history.history["loss"]) == 1, "epoch 2's checkpoint was whole: only epoch 3 was left"


@pytest.mark.django_db
def test_a_sigterm_while_the_run_prepares_waits_for_the_first_batchs_end():
    """A stop that lands while the run loads its data or traces its step is raised at the first
    batch's end: raised there and then, it landed inside TensorFlow and the run was recorded failed."""
    import signal

    import keras

    batches, prepared = [], []

    class Batches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    with pytest.raises(SystemExit) as stopped:
        with training.start_run("train_toy", OPTIONS, stdout=StringIO()) as run:
            os.kill(os.getpid(), signal.SIGTERM)  # as if inside a tf.data trace
            prepared.append(True)
            tiny_fit(run, extra=[Batches()])
    assert stopped.value.code == 130 and prepared == [True] and batches == [0]
    assert TrainingRun.objects.get().status == TrainingRun.Status.INTERRUPTED


@pytest.mark.django_db
def test_a_sigterm_after_the_last_batch_lets_the_run_finish_then_exits():
    import signal

    out = StringIO()
    with pytest.raises(SystemExit) as stopped:
        with training.start_run("train_toy", OPTIONS, stdout=out) as run:
            tiny_fit(run)
            os.kill(os.getpid(), signal.SIGTERM)  # as if while the model is saved and registered
            run.add_artifact("model", "models/toy.keras")
    assert stopped.value.code == 130  # the process goes no further (a bootstrap's next run)
    record = TrainingRun.objects.get()
    assert record.status == TrainingRun.Status.FINISHED and set(record.artifacts) == {"model"}
    assert f"Run #{record.pk} finished." in out.getvalue()
