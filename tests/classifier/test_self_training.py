"""classifier/self_training.py: pseudo-labels, the gain, and an unlabelled folder kept apart."""

import json
from io import StringIO

import pytest

from classifier import data
from classifier.train import train
from deepboot.hooks import TrainHooks
from tests.classifier.conftest import tiny_config


def test_self_training_pseudo_labels_confident_images_records_the_threshold_and_reports_the_gain(demo_data, tmp_path):
    from classifier.demo_data import make_demo_data

    unlabelled = make_demo_data(tmp_path / "unlabelled", seed=11, per_class=2)
    out = StringIO()
    # The top softmax of 6 classes is at least 1/6: every image is kept.
    result = train(tiny_config("cnn9", demo_data, self_training=str(unlabelled), confidence=0.1),
                   tmp_path / "run", TrainHooks(stdout=out))
    report = result.report["self_training"]
    assert report["threshold"] == 0.1 and report["unlabelled"] == 12 and report["pseudo_labelled"] == 12
    assert report["gain"] == pytest.approx(report["test_top1_after"] - report["test_top1_before"])
    assert result.metrics["self_training_gain"] == report["gain"]
    assert [row["stage"] for row in result.epochs] == ["fit", "self-fit"]
    assert "Self-training gain on the test split" in out.getvalue()
    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["report"]["self_training"]["threshold"] == 0.1


def test_self_training_refuses_an_unlabelled_folder_sharing_files_with_the_labelled_data(demo_data, tmp_path):
    from classifier.demo_data import make_demo_data

    unlabelled = make_demo_data(tmp_path / "unlabelled", seed=13, per_class=1)
    labelled = sorted(demo_data.rglob("*.jpg"))[-1]
    (unlabelled / "copied-under-another-name.jpg").write_bytes(labelled.read_bytes())
    with pytest.raises(data.DataError, match=r"shares 1 file\(s\) with the labelled data.*copied-under-another-name"):
        train(tiny_config("cnn9", demo_data, self_training=str(unlabelled)), tmp_path / "run")
    assert not (tmp_path / "run" / "model.keras").exists()


def test_self_training_with_no_confident_prediction_keeps_the_first_model(demo_data, tmp_path):
    from classifier.demo_data import make_demo_data

    unlabelled = make_demo_data(tmp_path / "unlabelled", seed=12, per_class=1)
    result = train(tiny_config("cnn9", demo_data, self_training=str(unlabelled), confidence=1.0),
                   tmp_path / "run")
    assert result.report["self_training"]["pseudo_labelled"] == 0
    assert result.report["self_training"]["gain"] is None
    assert [row["stage"] for row in result.epochs] == ["fit"]
