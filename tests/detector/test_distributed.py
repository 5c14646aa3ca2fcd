"""train_detector under MirroredStrategy on two logical CPUs: the loss is the global batch mean,
as on one device (Keras divides a per-image loss by the replicas; a pre-averaged one would double)."""

import subprocess
import sys

import pytest

from deepboot_site.models import TrainedModel, TrainingRun
from tests.conftest import ROOT, server_env
from tests.conftest import test_database_url as shared_database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def train(data, *extra, **env):
    done = subprocess.run(
        [sys.executable, "manage.py", "train_detector", "--data", str(data), "--epochs", "1", "--image-size", "32",
         "--grid", "4", "--no-augment", "--seed", "3", *extra],
        cwd=ROOT, env=server_env(DATABASE_URL=shared_database_url(), **env), capture_output=True, text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return TrainingRun.objects.order_by("-pk").first()


def test_mirrored_training_reports_the_same_loss_scale_as_one_device(tmp_path):
    from detector.demo_data import make_demo_data

    make_demo_data(tmp_path, seed=9, images=20, stdout=open("/dev/null", "w"))
    single = train(tmp_path, "--batch-size", "8", "--distribute", "none")
    mirrored = train(tmp_path, "--batch-size", "4", "--distribute", "mirrored", "--activate",
                     DEEPBOOT_LOGICAL_CPUS="2")
    assert "MirroredStrategy over 2 replicas" in mirrored.distribute and mirrored.replicas == 2
    assert mirrored.status == single.status == "finished"
    # Same data, order and initial weights, global batch 8 both times; only batch-norm statistics
    # (per replica) differ. A loss summed over replicas would be twice as large.
    ratio = mirrored.epochs[0]["loss"] / single.epochs[0]["loss"]
    assert 0.75 < ratio < 1.3, (mirrored.epochs, single.epochs)
    record = TrainedModel.objects.get(active=True)
    assert record.architecture == "tiny" and record.training_run["replicas"] == 2
