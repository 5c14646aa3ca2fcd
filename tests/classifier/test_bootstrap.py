"""classifier/bootstrap.py: demo data and demo models for the empty slots only, then an evaluation."""

import json
from io import StringIO

import pytest
from django.core.management.color import no_style

from classifier import bootstrap, service
from registry import registry
from tests.classifier.conftest import register_trained


@pytest.mark.django_db
def test_bootstrap_fills_only_empty_slots_records_accuracy_evaluates_and_is_idempotent(trained, monkeypatch):
    # vgg16 already has an active model; only cnn9 is made, with tiny settings (resnet152 is left
    # out here to keep the test short: loading it for the evaluation takes half a minute).
    existing = register_trained(trained, ("vgg16",))
    monkeypatch.setattr(bootstrap, "DEMO_PER_CLASS", 4)
    monkeypatch.setattr(bootstrap, "DEMO_TRAINING", (
        ("cnn9", ["--image-size", "32", "--epochs", "1", "--batch-size", "64", "--run-eagerly"]),
        ("vgg16", ["--never-used"]),
    ))
    out = StringIO()
    bootstrap.make_demo(stdout=out, style=no_style())
    cnn9 = registry.active_record("classification", "cnn9")
    assert cnn9 is not None and "test_top1" in cnn9.metrics and cnn9.dataset.startswith("demo-classification")
    for arch, record in existing.items():
        assert registry.active_record("classification", arch).pk == record.pk
    assert sorted(p.name for p in bootstrap.demo_dir().iterdir()) == sorted(
        ["checker", "circle", "square", "star", "stripes", "triangle"])
    evaluation = json.loads(service.latest_evaluation_path().read_text())
    assert {"cnn9", "vgg16", "average"} <= set(evaluation) and evaluation["split"] == "test"
    assert cnn9.runs.get().arguments["demo"] is True  # its live page was public while it trained
    text = out.getvalue()
    assert "training the demo cnn9" in text and "demo cnn9 trained in" in text and "evaluation done in" in text

    again = StringIO()
    bootstrap.make_demo(stdout=again, style=no_style())
    assert "nothing to do" in again.getvalue()
    assert registry.TrainedModel.objects.filter(architecture="cnn9").count() == 1
    registry.clear_cache()


@pytest.mark.django_db
def test_a_stopped_demo_run_is_trained_again_under_its_own_name_so_it_resumes():
    from registry.models import TrainingRun

    TrainingRun.objects.create(command="train_classifier", resume_key="k", task="classification", architecture="vgg16",
                               status="interrupted", arguments={"demo": True, "name": "demo-vgg16-20260101-000000"})
    assert bootstrap.run_name("vgg16") == "demo-vgg16-20260101-000000"
    assert bootstrap.run_name("cnn9").startswith("demo-cnn9-") and bootstrap.run_name("cnn9") != "demo-cnn9-"


def test_the_demo_test_split_holds_at_least_60_images(tmp_path):
    from classifier import data
    from classifier.demo_data import make_demo_data

    make_demo_data(tmp_path, seed=bootstrap.DEMO_SEED, stdout=StringIO(), per_class=bootstrap.DEMO_PER_CLASS)
    dataset = data.scan_folder(tmp_path)
    # train_classifier's default fractions (0.15 validation, 0.15 test), as bootstrap trains
    assert len(data.split_items(dataset.items, seed=bootstrap.DEMO_SEED).test) >= 60
