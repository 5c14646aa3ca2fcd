"""classifier/train.py and train_classifier: every architecture trains, saves and registers; the flags are
TrainConfig's fields."""

import dataclasses
import json
from io import StringIO

import keras
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from classifier import networks
from classifier.train import TrainConfig, train
from registry import registry
from registry.models import TrainingRun
from tests.classifier.conftest import png_is_valid, tiny_config


def assert_saved_model_split_and_curves(result, classes, counts):
    assert all(np.isfinite(row["loss"]) and row["seconds"] > 0 for row in result.epochs)
    model = networks.load_model(result.model_path)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, classes)
    assert png_is_valid(result.curves_path)
    split = json.loads(result.split_path.read_text())
    assert split["counts"] == counts and split["classes"] == result.class_names
    assert set(result.metrics) >= {"test_top1", "test_top5", "val_accuracy"}  # learning: test_*_learns below


@pytest.mark.parametrize("arch", ["cnn9", "vgg16"])  # resnet152: its learning test below
def test_each_architecture_trains_a_step_and_saves_model_split_and_curves(trained, arch):
    result = trained[arch]
    assert [row["stage"] for row in result.epochs] == ["fit"]
    assert_saved_model_split_and_curves(result, 6, {"train": 24, "val": 6, "test": 6})


def test_the_run_folder_holds_the_kept_models_test_evaluation(trained):
    """Beside the model: its confusion matrix on the test split and the scores behind it, which
    the run page lists as artefacts."""
    result = trained["cnn9"]
    folder = result.model_path.parent
    evaluation = json.loads((folder / "evaluation.json").read_text())
    assert evaluation["n_images"] == 6
    assert evaluation["cnn9"]["top1"] == pytest.approx(result.metrics["test_top1"])
    assert set(evaluation["cnn9"]["per_class"]) <= set(result.class_names)
    assert evaluation["cnn9"]["confusion_png"] == "confusion-cnn9.png" and png_is_valid(folder / "confusion-cnn9.png")


def test_the_test_split_is_predicted_once_for_the_metrics_and_the_run_folders_evaluation(
        demo_data, tmp_path, monkeypatch):
    from classifier import evaluate

    predicted = []
    real_predict = evaluate.predict_items

    def predict_spy(model, root, items, image_size, *args, **kwargs):
        predicted.append({item.path for item in items})
        return real_predict(model, root, items, image_size, *args, **kwargs)

    monkeypatch.setattr(evaluate, "predict_items", predict_spy)
    result = train(tiny_config("cnn9", demo_data), tmp_path / "run")
    test = set(json.loads(result.split_path.read_text())["test"])
    assert predicted.count(test) == 1 and len(predicted) == 2  # the validation split, then the test split
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert evaluation["cnn9"]["top1"] == result.metrics["test_top1"]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"arch": "alexnet"}, "--arch is one of cnn9, vgg16, resnet152"),
        ({"epochs": 0}, "--epochs must be at least 1"),
        ({"image_size": 16}, "--image-size must be at least 32"),
        ({"patience": -1}, "--patience must be 0 or more"),
        ({"folds": 1}, "K >= 2"),
        ({"refit": True}, "--refit needs --folds"),
        ({"confidence": 0.0}, "--confidence must be in"),
        ({"bn_momentum": 1.0}, "--bn-momentum must be in"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "leave some images to train on"),
        ({"weights": "imagenet"}, "cnn9 has no pre-trained weights"),
        ({"augment": "flip,sepia"}, "Unknown augmentation sepia"),
    ],
)
def test_a_config_no_run_can_use_is_refused_naming_the_flag(fields, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{"arch": "cnn9", "data": "x", **fields})


def _learning_config(arch, data, **overrides):
    return tiny_config(arch, data, **{"epochs": 15, "batch_size": 16, "patience": 15, "augment": "none",
                                      "run_eagerly": False, **overrides})


@pytest.mark.slow
def test_cnn9_learns_stripes_well_above_chance(many_stripes, tmp_path):
    result = train(_learning_config("cnn9", many_stripes, epochs=12, patience=12), tmp_path / "run")
    assert result.metrics["test_top1"] >= 0.7  # chance: 1/3 on 36 test images


@pytest.mark.slow
def test_vgg16_from_scratch_learns_warm_from_cool_well_above_chance(many_warm_and_cool, tmp_path):
    # At its default rate and without batch normalisation, VGG16 from scratch spent its first ~5
    # epochs at chance on the stripes and passed 0.6 after 25 (55-110 s); hue it learns in one or
    # two epochs (test_top1 1.0 for seeds 0-3 after 4 epochs, 10 s), which shows the same thing:
    # gradients reach through its 16 layers and it learns from the data.
    result = train(_learning_config("vgg16", many_warm_and_cool, epochs=4, patience=4), tmp_path / "run")
    assert result.metrics["test_top1"] >= 0.875  # chance: 1/2 on 16 test images



@pytest.mark.slow
def test_resnet152_learns_warm_from_cool_well_above_chance_when_fine_tuned_in_two_stages(warm_and_cool, tmp_path):
    # From scratch, 3 + 3 epochs of 2 steps, in graph mode as train_classifier runs by default: each
    # stage's training step is traced once (classifier.fit.build_before_tracing, the fused Adam), which
    # took 35 s for both stages on 2 cores against 26 s eagerly. Its batch normalisation stays in
    # inference mode in both stages, so the validation accuracy that picks the best epoch means the
    # same as the test accuracy.
    config = tiny_config("resnet152", warm_and_cool, two_stage=True, epochs=3, patience=3, batch_size=16,
                         augment="none", run_eagerly=False)
    result = train(config, tmp_path / "run")
    assert [row["stage"] for row in result.epochs] == ["head"] * 3 + ["finetune"] * 3
    assert_saved_model_split_and_curves(result, 2, {"train": 32, "val": 8, "test": 8})
    assert result.metrics["test_top1"] >= 0.875  # chance: 1/2 on 8 test images


def test_the_same_seed_trains_the_same_weights_and_metrics(demo_data, tmp_path):
    config = tiny_config("cnn9", demo_data, epochs=2, batch_size=8, run_eagerly=False)
    first = train(config, tmp_path / "first")
    second = train(config, tmp_path / "second")
    assert first.metrics == second.metrics
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in first.epochs] == [
        {k: v for k, v in row.items() if k != "seconds"} for row in second.epochs]
    weights = list(zip(first.model.get_weights(), second.model.get_weights()))
    assert len(weights) > 20 and all(np.array_equal(a, b) for a, b in weights)
    other = train(tiny_config("cnn9", demo_data, epochs=2, batch_size=8, run_eagerly=False, seed=1),
                  tmp_path / "other")
    assert not np.array_equal(other.model.get_weights()[0], first.model.get_weights()[0])



def test_the_learning_rate_is_lowered_only_for_pre_trained_bases_and_vgg16():
    assert tiny_config("resnet152", "x").learning_rate() == pytest.approx(1e-3)  # from scratch
    assert tiny_config("resnet152", "x", weights="imagenet").learning_rate() == pytest.approx(1e-4)
    assert tiny_config("resnet152", "x", optimizer="sgd", weights="/w.h5").learning_rate() == pytest.approx(1e-3)
    assert tiny_config("cnn9", "x", optimizer="sgd").learning_rate() == pytest.approx(1e-2)
    assert tiny_config("vgg16", "x").learning_rate() == pytest.approx(1e-4)  # no batch norm: lower either way
    assert tiny_config("vgg16", "x", lr=0.05).learning_rate() == 0.05


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
    # the run records the values it trained with, defaults included (the /runs/ pages show them)
    assert run_row.arguments["patience"] == 10 and run_row.arguments["augment"] == "none"
    assert json.loads((registry.absolute_path(record.training_run["split_file"]).parent / "report.json").read_text())[
        "config"]["augment"] == "none"
    assert "and activated" in output and "test_top1" in output


@pytest.mark.django_db
def test_train_classifier_refuses_a_self_training_folder_that_holds_labelled_images(demo_data):
    with pytest.raises(CommandError, match="shares .* file\\(s\\) with the labelled data"):
        run("train_classifier", "--arch", "cnn9", "--data", str(demo_data), "--self-training", str(demo_data),
            "--epochs", "1", "--image-size", "32")


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
        (["--arch", "cnn9", "--augment", "flip,sepia"], "Unknown augmentation sepia"),
        (["--arch", "cnn9", "--augment", "flip", "--no-augment"], "disagree"),
        (["--arch", "cnn9", "--refit"], "--refit needs --folds"),
    ],
)
def test_train_classifier_refuses_bad_arguments_with_a_clear_message(demo_data, args, message):
    if "--data" not in args:
        args = [*args, "--data", str(demo_data)]
    with pytest.raises(CommandError, match=message):
        run("train_classifier", *args)


def test_learning_curves_are_drawn_at_the_real_epoch_numbers(tmp_path, monkeypatch):
    """Rows are drawn at their own epoch numbers (epochs 3..5 at 3..5, not renumbered 1..3)."""
    from classifier import plots

    drawn = []
    real_plot = plots._pyplot().Axes.plot

    def plot(axis, xs, *args, **kwargs):
        drawn.append(list(xs))
        return real_plot(axis, xs, *args, **kwargs)

    monkeypatch.setattr(plots._pyplot().Axes, "plot", plot)
    rows = [{"stage": "fit", "epoch": e, "loss": 1.0 / e, "accuracy": 0.5} for e in (3, 4, 5)]
    plots.plot_curves(rows, tmp_path / "curves.png", "resumed")
    assert drawn and all(xs == [3, 4, 5] for xs in drawn)
    assert (tmp_path / "curves.png").stat().st_size > 0


def _train_classifier_parser():
    from classifier.management.commands.train_classifier import Command

    return Command().create_parser("manage.py", "train_classifier")


def test_every_config_field_is_a_flag_whose_help_gives_the_configs_default():
    actions = {action.dest: action for action in _train_classifier_parser()._actions}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= set(actions)
    assert "--run-eagerly" in actions["run_eagerly"].option_strings
    assert actions["epochs"].help.endswith("(default 100).") and "--patience" in actions["epochs"].help
    assert actions["confidence"].help == "Self-training keeps predictions at least this probable (default 0.9)."
    assert actions["optimizer"].choices == ("sgd", "adagrad", "rmsprop", "adam")
    assert actions["arch"].required and actions["data"].required


def test_without_flags_the_command_trains_with_the_configs_defaults(demo_data):
    from classifier.management.commands.train_classifier import _config

    options = vars(_train_classifier_parser().parse_args(["--arch", "vgg16", "--data", str(demo_data)]))
    assert _config(options) == TrainConfig(arch="vgg16", data=str(demo_data.resolve()))
    options = vars(_train_classifier_parser().parse_args(["--arch", "cnn9", "--data", str(demo_data), "--no-augment"]))
    assert _config(options).augment == "none"

