"""train_detector under MirroredStrategy on two logical CPUs: the loss is the global batch mean,
as on one device (Keras divides a per-image loss by the replicas; a pre-averaged one would double)."""

import io
import subprocess
import sys

import pytest

from registry.models import TrainedModel, TrainingRun
from tests.conftest import ROOT, server_env
from tests.conftest import test_database_url as shared_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_mirrored_training_reports_the_same_loss_scale_as_one_device(tmp_path):
    from detector.demo_data import make_demo_data
    from deepboot.hooks import TrainHooks
    from detector.train import TrainConfig, train

    make_demo_data(tmp_path / "scenes", seed=9, images=12, stdout=io.StringIO())
    common = ["--epochs", "1", "--image-size", "32", "--grid", "4", "--no-augment", "--seed", "3"]
    done = subprocess.run(
        [sys.executable, "manage.py", "train_detector", "--data", str(tmp_path / "scenes"), *common,
         "--batch-size", "4", "--distribute", "mirrored", "--activate"],
        cwd=ROOT, env=server_env(DATABASE_URL=shared_database_url(), DEEPBOOT_LOGICAL_CPUS="2"),
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    mirrored = TrainingRun.objects.get()
    assert "MirroredStrategy over 2 replicas" in mirrored.distribute and mirrored.replicas == 2
    assert mirrored.status == "finished"
    record = TrainedModel.objects.get(active=True)
    assert record.architecture == "tiny" and record.training_run["replicas"] == 2

    # The same run on one device, here: same data, order and initial weights, global batch 8.
    single = train(TrainConfig(data=str(tmp_path / "scenes"), epochs=1, batch_size=8, image_size=32, grid=4,
                               augment=False, seed=3), tmp_path / "single", TrainHooks(verbose=0))
    # Only batch-norm statistics (per replica) differ; a loss summed over replicas would be twice as large.
    ratio = mirrored.epochs[0]["loss"] / single.history["loss"][0]
    assert 0.75 < ratio < 1.3, (mirrored.epochs, single.history)
