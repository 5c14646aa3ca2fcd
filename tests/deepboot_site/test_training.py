"""The shared training run: strategy choice, per-epoch records, statuses and resuming."""

from io import StringIO

import numpy as np
import pytest
from django.core.management.base import CommandError

from deepboot_site import training
from deepboot_site.models import TrainingRun

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


def test_unknown_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(CommandError, match="TF_CONFIG"):
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
    with pytest.raises(KeyboardInterrupt):
        with training.start_run("train_toy", {**OPTIONS, "epochs": 9}, stdout=StringIO()):
            raise KeyboardInterrupt
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

    with pytest.raises(KeyboardInterrupt):
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
def test_mixed_precision_is_on_inside_the_run_and_reset_after():
    import keras

    with training.start_run("train_toy", {**OPTIONS, "mixed_precision": True}, stdout=StringIO()) as run:
        assert keras.config.dtype_policy().name == "mixed_float16" and run.mixed_precision
    assert keras.config.dtype_policy().name == "float32"


MIRRORED_SCRIPT = """
import django, io; django.setup()
from django.core.management import call_command
from deepboot_site import training
from tests.deepboot_site.test_training import tiny_fit, OPTIONS
call_command("migrate", verbosity=0)
with training.start_run("train_toy", {**OPTIONS, "distribute": "mirrored"}, stdout=io.StringIO()) as run:
    history = tiny_fit(run, epochs=2)
print("REPLICAS", run.replicas, run.global_batch_size(16), len(history.history["loss"]), run.record.distribute)
"""


def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DEEPBOOT_VAR=str(tmp_path), DEEPBOOT_LOGICAL_CPUS="2", DJANGO_SETTINGS_MODULE="deepboot_site.settings")
    out = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    line = [l for l in out.stdout.splitlines() if l.startswith("REPLICAS")][-1]
    assert line.startswith("REPLICAS 2 32 2 MirroredStrategy over 2 replicas")
