"""The shared training run through a real train command (train_classifier's cnn9 on tiny demo
images): killed with SIGKILL and resumed by the same command line, on two logical CPUs with
MirroredStrategy, and as a two-worker MultiWorkerMirroredStrategy cluster on 127.0.0.1."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from registry import registry, training
from registry.models import TrainedModel, TrainingRun
from tests.conftest import ROOT, free_port, server_env
from tests.conftest import test_database_url as shared_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

IMAGE_SIZE = 32
CLASSES = 6


@pytest.fixture(scope="module")
def demo_images(tmp_path_factory):
    """Six classes of eight generated images (the demo data set's own maker)."""
    from classifier.demo_data import make_demo_data

    return make_demo_data(tmp_path_factory.mktemp("demo") / "images", seed=0, per_class=8)


def command(data, *extra, epochs=2):
    return [
        sys.executable, "manage.py", "train_classifier", "--arch", "cnn9", "--data", str(data),
        "--image-size", str(IMAGE_SIZE), "--batch-size", "8", "--epochs", str(epochs), "--patience", "20",
        "--no-augment", *extra,
    ]


def environment(**extra):
    return server_env(DATABASE_URL=shared_database_url(), PYTHONUNBUFFERED="1", **extra)


def assert_serves(record):
    """The registered file loads the way the site loads it and gives one probability per class."""
    from classifier.networks import load_model

    model = load_model(registry.absolute_path(record.path))
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    probabilities = np.asarray(model(pixels, training=False))
    assert probabilities.shape == (2, CLASSES)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4) and np.all(np.isfinite(probabilities))


def test_a_run_killed_mid_training_resumes_with_the_same_command_line(demo_images, tmp_path):
    argv = command(demo_images, "--distribute", "none", epochs=3)
    log = tmp_path / "first.log"
    with open(log, "w") as output:
        first = subprocess.Popen(argv, cwd=ROOT, env=environment(), stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            run = TrainingRun.objects.filter(command="train_classifier").first()
            if run is not None and len(run.epochs) >= 1:
                break
            time.sleep(0.1)
        assert first.poll() is None, f"the first run ended before it could be killed:\n{log.read_text()[-3000:]}"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    run = TrainingRun.objects.get(command="train_classifier")
    done_before_kill = len(run.epochs)
    assert run.status == "running" and run.pid == first.pid, "a killed process cannot record anything itself"
    assert [r.pk for r in training.reap_dead_runs()] == [run.pk]
    assert TrainingRun.objects.get(pk=run.pk).status == "interrupted"

    second = subprocess.run(argv, cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"Resuming run #{run.pk}" in second.stdout
    assert "Epoch 1/3" not in second.stdout, "the second process did not start at epoch 1"
    assert f"Epoch {done_before_kill + 1}/3" in second.stdout
    run.refresh_from_db()
    assert run.status == "finished" and run.resumed == 1 and run.pid != first.pid
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3]
    assert TrainedModel.objects.count() == 1 and run.model is not None
    assert_serves(run.model)
    assert not training.backup_root(run.resume_key).exists(), "a finished run leaves no checkpoint behind"
    assert list(run.attempts.values_list("number", "outcome", "pid")) == [
        (1, "interrupted", first.pid), (2, "finished", run.pid)
    ], "the killed attempt is ended by the reaper, the resume by itself"
    folder = training.var_path(run.output_dir)
    assert folder == registry.absolute_path(run.model.path).parent, "one output folder for both attempts"
    assert not (folder / "checkpoints").exists()
    report = json.loads((folder / "report.json").read_text())
    assert [row["epoch"] for row in report["epochs"]] == [1, 2, 3] and report["report"]["epochs_run"] == 3


def test_the_mirrored_strategy_trains_a_real_model_on_two_logical_cpus(demo_images):
    done = subprocess.run(
        command(demo_images, "--distribute", "mirrored", "--activate"),
        cwd=ROOT, env=environment(DEEPBOOT_LOGICAL_CPUS="2"), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = TrainingRun.objects.get()
    assert "MirroredStrategy over 2 replicas" in run.distribute and run.replicas == 2
    assert run.status == "finished" and [e["epoch"] for e in run.epochs] == [1, 2]
    record = TrainedModel.objects.get()
    assert record.active and record.training_run["replicas"] == 2
    assert_serves(record)


def test_two_workers_train_one_model_and_only_the_chief_registers_it(demo_images):
    ports = [free_port(), free_port()]
    models_before = set((Path(registry.absolute_path("classification"))).glob("*"))
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
        workers.append(subprocess.Popen(
            command(demo_images, "--distribute", "multiworker", "--activate"),
            cwd=ROOT, env=environment(TF_CONFIG=json.dumps(tf_config)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=600)[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-4000:]
    assert "Worker 1 of a multi-worker run" in outputs[1] and "Worker 1 finished" in outputs[1]
    run = TrainingRun.objects.get()
    assert run.replicas == 2 and "MultiWorkerMirroredStrategy, 2 workers" in run.distribute
    assert run.status == "finished" and [e["epoch"] for e in run.epochs] == [1, 2]
    record = TrainedModel.objects.get()
    assert record.active and run.model == record
    assert_serves(record)
    new_folders = set(Path(registry.absolute_path("classification")).glob("*")) - models_before
    assert len(new_folders) == 1, f"only the chief writes artefacts: {sorted(new_folders)}"
    assert not os.path.exists(training.backup_root(run.resume_key))
