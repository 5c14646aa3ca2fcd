"""classifier/cross_validation.py (and the refit in train.py): K folds, each scored on images it never chose."""

from io import StringIO

import numpy as np
import pytest

from classifier import evaluate, fit
from classifier.train import train
from deepboot.hooks import TrainHooks
from tests.classifier.conftest import tiny_config


def test_k_fold_reports_each_fold_and_mean_and_standard_deviation(demo_data, tmp_path):
    out = StringIO()
    result = train(tiny_config("cnn9", demo_data, folds=2), tmp_path / "run", TrainHooks(stdout=out))
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
    real_fit, real_evaluate = fit.fit_network, evaluate.evaluate_items

    def fit_spy(config, dataset, train_items, val_items, *args, **kwargs):
        watched.append(({i.path for i in train_items}, {i.path for i in val_items}))
        return real_fit(config, dataset, train_items, val_items, *args, **kwargs)

    def evaluate_spy(model, root, items, image_size):
        scored.append({i.path for i in items})
        return real_evaluate(model, root, items, image_size)

    monkeypatch.setattr(fit, "fit_network", fit_spy)
    monkeypatch.setattr(evaluate, "evaluate_items", evaluate_spy)
    train(tiny_config("cnn9", demo_data, folds=3), tmp_path / "run")
    assert len(watched) == 3 and len(set().union(*scored[:3])) == 30  # every non-test image scored once
    for (trained_on, early_stopping), fold in zip(watched, scored[:3]):
        assert early_stopping and fold
        assert not fold & early_stopping and not fold & trained_on and not trained_on & early_stopping


def test_k_fold_refit_trains_the_kept_model_on_all_non_test_images_for_the_folds_mean_best_epoch(
        demo_data, tmp_path, monkeypatch):
    sizes = []
    real_fit = fit.fit_network

    def fit_spy(config, dataset, train_items, val_items, *args, **kwargs):
        sizes.append((len(train_items), len(val_items), kwargs.get("epochs")))
        return real_fit(config, dataset, train_items, val_items, *args, **kwargs)

    monkeypatch.setattr(fit, "fit_network", fit_spy)
    result = train(tiny_config("cnn9", demo_data, folds=2, refit=True, epochs=3, patience=3), tmp_path / "run")
    folds = result.report["folds"]
    best = [f["best_epochs"]["fit"] for f in folds["folds"]]
    assert folds["refit"] and folds["kept_fold"] is None
    assert folds["refit_epochs"] == {"fit": max(1, round(np.mean(best)))}
    assert sizes[-1] == (30, 0, folds["refit_epochs"])  # every non-test image, no validation
    refit_rows = [row for row in result.epochs if row["stage"] == "refit-fit"]
    assert len(refit_rows) == folds["refit_epochs"]["fit"]


def test_the_refit_trains_each_stage_for_the_folds_mean_best_epoch_and_at_least_one():
    from classifier.cross_validation import refit_epochs

    folds = [{"best_epochs": {"finetune": 4, "head": 1}}, {"best_epochs": {"head": 2, "finetune": 7}}]
    assert list(refit_epochs(folds, default=10).items()) == [("head", 2), ("finetune", 6)]
    assert refit_epochs([{"best_epochs": {"fit": 0}}], default=10) == {"fit": 1}
    assert refit_epochs([{"best_epochs": {"fit": 3}}, {"best_epochs": {}}], default=9) == {"fit": 6}
