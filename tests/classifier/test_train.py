"""classifier/trainer.py and train_classifier: every architecture trains, two-stage, self-training, folds."""

import json
from io import StringIO

import keras
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from classifier import data, networks, trainer
from deepboot_site import registry
from deepboot_site.models import TrainingRun
from tests.classifier.conftest import png_is_valid, tiny_config


@pytest.mark.parametrize("arch", ["cnn9", "vgg16", "resnet152"])
def test_each_architecture_trains_a_step_and_saves_model_split_and_curves(trained, arch):
    result = trained[arch]
    assert [row["stage"] for row in result.epochs] == ["fit"]
    assert np.isfinite(result.epochs[0]["loss"]) and result.epochs[0]["seconds"] > 0
    model = networks.load_model(result.model_path)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 6)
    assert png_is_valid(result.curves_path)
    split = json.loads(result.split_path.read_text())
    assert split["counts"] == {"train": 24, "val": 6, "test": 6} and split["classes"] == result.class_names
    assert 0 <= result.metrics["test_top1"] <= result.metrics["test_top5"] <= 1


def test_batch_norm_recalibration_sets_moving_statistics_from_training_batches(demo_data):
    model = networks.build_cnn9((32, 32, 3), 6)
    dataset = data.scan_folder(demo_data)
    batches = data.make_dataset(demo_data, dataset.items, 32, 12, num_classes=6)
    bn = networks.base_of(model).get_layer("conv1_bn")
    before = np.asarray(bn.moving_mean).copy()
    assert trainer.recalibrate_batch_norm(model, batches, batches=2) == 2
    assert not np.allclose(np.asarray(bn.moving_mean), before)
    assert bn.momentum == 0.9  # restored


def test_two_stage_freezes_the_base_then_fine_tunes_everything_at_a_lower_rate(demo_data):
    snapshots = {}

    class Snapshot(keras.callbacks.Callback):
        def __init__(self, stage):
            super().__init__()
            self.stage = stage

        def kernels(self):
            base = networks.base_of(self.model).get_layer("conv1").kernel
            head = self.model.get_layer("head_predictions").kernel
            return np.asarray(base).copy(), np.asarray(head).copy()

        def on_train_begin(self, logs=None):
            snapshots[self.stage] = {"begin": self.kernels(), "lr": float(self.model.optimizer.learning_rate)}

        def on_train_end(self, logs=None):
            snapshots[self.stage]["end"] = self.kernels()

    config = tiny_config("cnn9", demo_data, two_stage=True, lr=0.01)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    hooks = trainer._Hooks(callbacks=lambda stage, extra: [*extra, Snapshot(stage)])
    model, rows = trainer.fit_network(config, dataset, split.train, split.val, hooks, checkpoint_dir=demo_data.parent / "ck")
    assert [row["stage"] for row in rows] == ["head", "finetune"]
    head, fine = snapshots["head"], snapshots["finetune"]
    assert np.array_equal(head["begin"][0], head["end"][0])  # base frozen in stage 1
    assert not np.array_equal(head["begin"][1], head["end"][1])  # head trained
    assert not np.array_equal(fine["begin"][0], fine["end"][0])  # base fine-tuned in stage 2
    assert head["lr"] == pytest.approx(0.01) and fine["lr"] == pytest.approx(0.001)


def test_self_training_pseudo_labels_confident_images_records_the_threshold_and_reports_the_gain(demo_data, tmp_path):
    from classifier.demo_data import make_demo_data

    unlabelled = make_demo_data(tmp_path / "unlabelled", seed=11, per_class=2)
    out = StringIO()
    result = trainer.train(tiny_config("cnn9", demo_data, self_training=str(unlabelled), confidence=0.0),
                           tmp_path / "run", stdout=out)
    report = result.report["self_training"]
    assert report["threshold"] == 0.0 and report["unlabelled"] == 12 and report["pseudo_labelled"] == 12
    assert report["gain"] == pytest.approx(report["test_top1_after"] - report["test_top1_before"])
    assert result.metrics["self_training_gain"] == report["gain"]
    assert [row["stage"] for row in result.epochs] == ["fit", "self-fit"]
    assert "Self-training gain on the test split" in out.getvalue()
    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["report"]["self_training"]["threshold"] == 0.0


def test_self_training_with_no_confident_prediction_keeps_the_first_model(demo_data, tmp_path):
    from classifier.demo_data import make_demo_data

    unlabelled = make_demo_data(tmp_path / "unlabelled", seed=12, per_class=1)
    result = trainer.train(tiny_config("cnn9", demo_data, self_training=str(unlabelled), confidence=1.0),
                           tmp_path / "run")
    assert result.report["self_training"]["pseudo_labelled"] == 0
    assert result.report["self_training"]["gain"] is None
    assert [row["stage"] for row in result.epochs] == ["fit"]


def test_k_fold_reports_each_fold_and_mean_and_standard_deviation(demo_data, tmp_path):
    out = StringIO()
    result = trainer.train(tiny_config("cnn9", demo_data, folds=2), tmp_path / "run", stdout=out)
    folds = result.report["folds"]
    accuracies = [f["val_accuracy"] for f in folds["folds"]]
    assert [f["fold"] for f in folds["folds"]] == [1, 2] and folds["k"] == 2
    assert sum(f["val"] for f in folds["folds"]) == 30  # the 30 non-test images, each validated once
    assert folds["mean"] == pytest.approx(np.mean(accuracies))
    assert folds["std"] == pytest.approx(np.std(accuracies, ddof=1))
    assert result.metrics["cv_val_accuracy_mean"] == folds["mean"]
    assert "2-fold cross-validation" in out.getvalue()
    assert {row["stage"] for row in result.epochs} == {"fold1-fit", "fold2-fit"}


def test_optimizers_are_built_by_name():
    for name in trainer.OPTIMIZERS:
        optimizer = trainer.make_optimizer(name, 0.05, 1e-4)
        assert float(optimizer.learning_rate) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        trainer.make_optimizer("lbfgs", 0.1)
    assert tiny_config("vgg16", "x", optimizer="sgd").learning_rate() == pytest.approx(1e-3)
    assert tiny_config("cnn9", "x").fine_tune_learning_rate() == pytest.approx(1e-4)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_train_classifier_records_the_model_run_split_and_curves_and_activates_it(demo_data):
    output = run("train_classifier", "--arch", "cnn9", "--data", str(demo_data), "--epochs", "1",
                 "--batch-size", "64", "--image-size", "32", "--run-eagerly", "--optimizer", "sgd",
                 "--no-augment", "--name", "cmd-cnn9", "--activate")
    record = registry.active_record("classification", "cnn9")
    assert record is not None and record.layers == 9 and record.input_size == [32, 32]
    assert record.class_names == ["checker", "circle", "square", "star", "stripes", "triangle"]
    assert record.preprocessing == "rescale" and record.parameters > 100_000
    assert set(record.metrics) >= {"test_top1", "test_top5", "val_accuracy"}
    split = json.loads(registry.absolute_path(record.training_run["split_file"]).read_text())
    assert split["counts"]["test"] == 6 and split["seed"] == 0
    assert png_is_valid(registry.absolute_path(record.training_run["curves"]))
    run_row = TrainingRun.objects.get(pk=record.training_run["run_id"])
    assert run_row.status == "finished" and run_row.model_id == record.pk
    assert len(run_row.epochs) == 1 and set(run_row.artifacts) == {"model", "curves", "split"}
    assert run_row.arguments["optimizer"] == "sgd" and run_row.arguments["no_augment"] is True
    assert "and activated" in output and "test_top1" in output


@pytest.mark.django_db
def test_train_classifier_fine_tunes_vgg16_in_two_stages_from_a_weights_file(demo_data, tmp_path):
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights = tmp_path / "vgg16_notop.weights.h5"
    base.save_weights(weights)
    output = run("train_classifier", "--arch", "vgg16", "--data", str(demo_data), "--epochs", "1",
                 "--batch-size", "64", "--image-size", "32", "--run-eagerly", "--weights", str(weights),
                 "--two-stage", "--name", "cmd-vgg16")
    assert "Stage 1: the new head only" in output and "Stage 2: fine-tuning the whole network" in output
    record = registry.TrainedModel.objects.get(architecture="vgg16", task="classification")
    assert not record.active and record.layers == 16 and record.preprocessing == "caffe"
    assert [e.get("stage") for e in TrainingRun.objects.get(pk=record.training_run["run_id"]).epochs] == ["head", "finetune"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["--arch", "cnn9", "--data", "/nonexistent/folder"], "No data folder"),
        (["--arch", "cnn9", "--weights", "imagenet"], "cnn9 has no pre-trained weights"),
        (["--arch", "vgg16", "--weights", "/nonexistent/w.h5"], "no file at"),
        (["--arch", "cnn9", "--folds", "1"], "K >= 2"),
        (["--arch", "cnn9", "--image-size", "16"], "at least 32"),
        (["--arch", "cnn9", "--self-training", "/nonexistent/u"], "No unlabelled folder"),
    ],
)
def test_train_classifier_refuses_bad_arguments_with_a_clear_message(demo_data, args, message):
    if "--data" not in args:
        args = [*args, "--data", str(demo_data)]
    with pytest.raises(CommandError, match=message):
        run("train_classifier", *args)
