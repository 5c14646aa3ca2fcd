"""classifier/trainer.py and train_classifier: every architecture trains, two-stage, self-training, folds."""

import json
from io import StringIO

import keras
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from classifier import data, networks, trainer
from registry import registry
from registry.models import TrainingRun
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
    assert set(result.metrics) >= {"test_top1", "test_top5", "val_accuracy"}  # learning: test_*_learns below


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


def _learning_config(arch, data, **overrides):
    return tiny_config(arch, data, **{"epochs": 15, "batch_size": 16, "patience": 15, "augment": "none",
                                      "eager": False, **overrides})


@pytest.mark.slow
def test_cnn9_learns_stripes_well_above_chance(stripes, tmp_path):
    result = trainer.train(_learning_config("cnn9", stripes), tmp_path / "run")
    assert result.metrics["test_top1"] >= 0.7  # chance: 1/3 on 18 test images


@pytest.mark.slow
def test_vgg16_from_scratch_learns_stripes_well_above_chance(stripes, tmp_path):
    # Without batch normalisation VGG16 starts slowly (chance for its first ~5 epochs here).
    result = trainer.train(_learning_config("vgg16", stripes, epochs=25, patience=25), tmp_path / "run")
    assert result.metrics["test_top1"] >= 0.6  # chance: 1/3 on 18 test images


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


@pytest.mark.slow
def test_resnet152_learns_warm_from_cool_well_above_chance_when_fine_tuned_in_two_stages(warm_and_cool, tmp_path):
    # From scratch and eagerly (tracing ResNet152 takes minutes on a CPU), 3 + 3 epochs of 2 steps.
    # Its batch normalisation stays in inference mode in both stages, so the validation accuracy
    # that picks the best epoch means the same as the test accuracy.
    config = tiny_config("resnet152", warm_and_cool, two_stage=True, epochs=3, patience=3, batch_size=16,
                         augment="none")
    result = trainer.train(config, tmp_path / "run")
    assert [row["stage"] for row in result.epochs] == ["head"] * 3 + ["finetune"] * 3
    assert result.metrics["test_top1"] >= 0.875  # chance: 1/2 on 8 test images


def _batch_norm_statistics(model):
    return [np.asarray(v).copy() for layer in trainer._all_layers(networks.base_of(model))
            if isinstance(layer, keras.layers.BatchNormalization) for v in (layer.moving_mean, layer.moving_variance)]


def test_fine_tuning_in_two_stages_leaves_the_base_batch_norm_statistics_untouched(demo_data, monkeypatch):
    built = {}
    build = networks.build

    def keep(*args, **kwargs):
        built["model"] = build(*args, **kwargs)
        built["before"] = _batch_norm_statistics(built["model"])
        return built["model"]

    monkeypatch.setattr(networks, "build", keep)
    config = tiny_config("cnn9", demo_data, two_stage=True, batch_size=8)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    model, rows = trainer.fit_network(config, dataset, split.train, split.val, trainer._Hooks(),
                                      checkpoint_dir=demo_data.parent / "ck-bn")
    assert [row["stage"] for row in rows] == ["head", "finetune"]
    after = _batch_norm_statistics(model)
    assert len(after) == 12 and all(np.array_equal(a, b) for a, b in zip(built["before"], after))
    # the base itself was fine-tuned: the BN statistics stayed because it ran in inference mode
    conv = networks.base_of(model).get_layer("conv1").kernel
    assert networks.base_of(model).get_layer("conv1").trainable and conv.trainable


def test_training_from_scratch_updates_the_batch_norm_statistics(demo_data, tmp_path):
    config = tiny_config("cnn9", demo_data, batch_size=8)
    dataset = data.scan_folder(demo_data)
    split = data.split_items(dataset.items, 0)
    fresh = _batch_norm_statistics(networks.build_cnn9((32, 32, 3), 6))
    model, _ = trainer.fit_network(config, dataset, split.train, split.val, trainer._Hooks(),
                                   checkpoint_dir=tmp_path / "ck")
    assert not all(np.array_equal(a, b) for a, b in zip(fresh, _batch_norm_statistics(model)))


def test_the_same_seed_trains_the_same_weights_and_metrics(demo_data, tmp_path):
    config = tiny_config("cnn9", demo_data, epochs=2, batch_size=8, eager=False)
    first = trainer.train(config, tmp_path / "first")
    second = trainer.train(config, tmp_path / "second")
    assert first.metrics == second.metrics
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in first.epochs] == [
        {k: v for k, v in row.items() if k != "seconds"} for row in second.epochs]
    weights = list(zip(first.model.get_weights(), second.model.get_weights()))
    assert len(weights) > 20 and all(np.array_equal(a, b) for a, b in weights)
    other = trainer.train(tiny_config("cnn9", demo_data, epochs=2, batch_size=8, eager=False, seed=1),
                          tmp_path / "other")
    assert not np.array_equal(other.model.get_weights()[0], first.model.get_weights()[0])


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


def test_self_training_refuses_an_unlabelled_folder_sharing_files_with_the_labelled_data(demo_data, tmp_path):
    from classifier.demo_data import make_demo_data

    unlabelled = make_demo_data(tmp_path / "unlabelled", seed=13, per_class=1)
    labelled = sorted(demo_data.rglob("*.jpg"))[-1]
    (unlabelled / "copied-under-another-name.jpg").write_bytes(labelled.read_bytes())
    with pytest.raises(data.DataError, match=r"shares 1 file\(s\) with the labelled data.*copied-under-another-name"):
        trainer.train(tiny_config("cnn9", demo_data, self_training=str(unlabelled)), tmp_path / "run")
    assert not (tmp_path / "run" / "model.keras").exists()


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
    assert sum(f["val"] for f in folds["folds"]) == 30  # the 30 non-test images, each scored once
    assert all(f["train"] + f["early_stopping_val"] + f["val"] == 30 for f in folds["folds"])
    assert folds["mean"] == pytest.approx(np.mean(accuracies))
    assert folds["std"] == pytest.approx(np.std(accuracies, ddof=1))
    assert result.metrics["cv_val_accuracy_mean"] == folds["mean"]
    assert "2-fold cross-validation" in out.getvalue()
    assert {row["stage"] for row in result.epochs} == {"fold1-fit", "fold2-fit"}
    assert folds["kept_fold"] in (1, 2) and not folds["refit"]


def test_k_fold_scores_each_fold_on_images_early_stopping_never_saw(demo_data, tmp_path, monkeypatch):
    watched, scored = [], []
    fit, evaluate = trainer.fit_network, trainer.evaluate_items

    def fit_spy(config, dataset, train_items, val_items, *args, **kwargs):
        watched.append(({i.path for i in train_items}, {i.path for i in val_items}))
        return fit(config, dataset, train_items, val_items, *args, **kwargs)

    def evaluate_spy(model, root, items, image_size):
        scored.append({i.path for i in items})
        return evaluate(model, root, items, image_size)

    monkeypatch.setattr(trainer, "fit_network", fit_spy)
    monkeypatch.setattr(trainer, "evaluate_items", evaluate_spy)
    trainer.train(tiny_config("cnn9", demo_data, folds=3), tmp_path / "run")
    assert len(watched) == 3 and len(set().union(*scored[:3])) == 30  # every non-test image scored once
    for (trained_on, early_stopping), fold in zip(watched, scored[:3]):
        assert early_stopping and fold
        assert not fold & early_stopping and not fold & trained_on and not trained_on & early_stopping


def test_k_fold_refit_trains_the_kept_model_on_all_non_test_images_for_the_folds_mean_best_epoch(
        demo_data, tmp_path, monkeypatch):
    sizes = []
    fit = trainer.fit_network

    def fit_spy(config, dataset, train_items, val_items, *args, **kwargs):
        sizes.append((len(train_items), len(val_items), kwargs.get("epochs")))
        return fit(config, dataset, train_items, val_items, *args, **kwargs)

    monkeypatch.setattr(trainer, "fit_network", fit_spy)
    result = trainer.train(tiny_config("cnn9", demo_data, folds=2, refit=True, epochs=3, patience=3), tmp_path / "run")
    folds = result.report["folds"]
    best = [f["best_epochs"]["fit"] for f in folds["folds"]]
    assert folds["refit"] and folds["kept_fold"] is None
    assert folds["refit_epochs"] == {"fit": max(1, round(np.mean(best)))}
    assert sizes[-1] == (30, 0, folds["refit_epochs"])  # every non-test image, no validation
    refit_rows = [row for row in result.epochs if row["stage"] == "refit-fit"]
    assert len(refit_rows) == folds["refit_epochs"]["fit"]


def test_optimizers_are_built_by_name():
    for name in trainer.OPTIMIZERS:
        optimizer = trainer.make_optimizer(name, 0.05, 1e-4)
        assert float(optimizer.learning_rate) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        trainer.make_optimizer("lbfgs", 0.1)
    assert tiny_config("cnn9", "x").fine_tune_learning_rate() == pytest.approx(1e-4)


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
