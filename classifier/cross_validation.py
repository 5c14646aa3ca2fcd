"""K-fold cross-validation of a classifier over the non-test images. No Django.

Each fold trains on the other K-1 folds, less an inner stratified validation split
(`val_fraction` of them) that early stopping watches, and is scored on its own fold, which chose
nothing. The report gives each fold's score and best epochs and their mean ± standard deviation;
the best fold's model is kept, or (`refit`, done by train.py) a model trained on all the non-test
images for the folds' mean best epoch count per stage (`refit_epochs`).
"""

import statistics

from deepboot.hooks import seed_everything

from . import data as data_module
from . import evaluate, fit

STAGE_ORDER = ("head", "finetune", "fit")


def cross_validate(config, dataset, split, hooks, rows, checkpoints):
    """K-fold over the non-test images of `split` (K = config.folds); appends every fold's epoch
    rows to `rows`. Returns (the best-scoring fold's model, report)."""
    pool = list(split.train) + list(split.val)
    folds = data_module.kfold(pool, config.folds, config.seed)
    results, models = [], []
    for index, (train_items, scored_items) in enumerate(folds, start=1):
        inner = data_module.split_items(train_items, config.seed + index, config.val_fraction, 0.0)
        hooks.say(f"Fold {index}/{config.folds}: {len(inner.train)} train, {len(inner.val)} early-stopping "
                  f"validation, {len(scored_items)} scored images")
        seed_everything(config.seed + index)
        fold_rows = []
        prefix = f"fold{index}-"
        model, _ = fit.fit_network(config, dataset, inner.train, inner.val, hooks, stage_prefix=prefix,
                                   rows=fold_rows, checkpoint_dir=checkpoints)
        rows.extend(fold_rows)
        accuracy = evaluate.evaluate_items(model, dataset.root, scored_items, config.image_size).top1
        results.append({"fold": index, "train": len(inner.train), "early_stopping_val": len(inner.val),
                        "val": len(scored_items), "val_accuracy": accuracy,
                        "best_epochs": fit.best_epochs(fold_rows, prefix)})
        models.append(model)
        hooks.say(f"Fold {index}: accuracy {accuracy:.3f} on its {len(scored_items)} held-out images")
    accuracies = [r["val_accuracy"] for r in results]
    mean = statistics.fmean(accuracies)
    std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    hooks.say(f"{config.folds}-fold cross-validation: {mean:.3f} ± {std:.3f} "
              f"(folds: {', '.join(f'{a:.3f}' for a in accuracies)})")
    best = max(range(len(results)), key=lambda i: results[i]["val_accuracy"])
    report = {"k": config.folds, "folds": results, "mean": mean, "std": std,
              "refit_epochs": refit_epochs(results, config.epochs),
              "kept_fold": None if config.refit else results[best]["fold"], "refit": config.refit}
    return models[best], report


def refit_epochs(results, default):
    """{stage: the folds' mean best epoch, at least 1} for a refit on all the data (a stage a fold
    lacks counts as `default` epochs)."""
    stages = sorted({stage for r in results for stage in r["best_epochs"]}, key=STAGE_ORDER.index)
    return {stage: max(1, round(statistics.fmean(r["best_epochs"].get(stage, default) for r in results)))
            for stage in stages}
