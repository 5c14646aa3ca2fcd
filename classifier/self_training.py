"""Self-training: pseudo-label unlabelled images with a trained model and train again. No Django.

The teacher labels the images of the unlabelled folder; those it predicts with a softmax
probability of at least `confidence` join the training images with their predicted labels, a
fresh network (the student) is trained on them, and the test accuracy before and after is the
gain. The folder must be kept apart from the labelled data: pseudo-labelling one of the test
images would report a contaminated gain, so a folder sharing any file (by content) is refused.
"""

import os
from pathlib import Path

import numpy as np

from deepboot.hooks import seed_everything

from . import data as data_module
from . import evaluate, fit


def unlabelled_apart(config, dataset, hooks):
    """The unlabelled folder's items, after checking that none of its files (by content) is one of
    the labelled images (DataError naming them otherwise)."""
    unlabelled = data_module.scan_unlabelled(config.self_training, stdout=hooks.stdout)
    shared = data_module.overlapping_files(dataset.root, dataset.items, config.self_training, unlabelled)
    if shared:
        examples = "; ".join(f"{other} = {ours}" for ours, other in shared[:3])
        raise data_module.DataError(
            f"The unlabelled folder {config.self_training} shares {len(shared)} file(s) with the labelled data "
            f"under {dataset.root} (same content: {examples}{'; …' if len(shared) > 3 else ''}). Self-training "
            "needs images kept apart from the labelled ones (and from the test split): remove them or choose "
            "another folder."
        )
    return unlabelled


def pseudo_label(model, root, items, image_size, confidence):
    """(kept items, their labels, report) for the unlabelled `items` the model is confident about."""
    probabilities = evaluate.predict_items(model, root, items, image_size)
    best = probabilities.argmax(axis=1) if len(items) else np.zeros(0, dtype=int)
    scores = probabilities.max(axis=1) if len(items) else np.zeros(0)
    keep = [i for i, score in enumerate(scores) if score >= confidence]
    report = {
        "threshold": confidence,
        "unlabelled": len(items),
        "pseudo_labelled": len(keep),
        "mean_confidence_kept": float(np.mean(scores[keep])) if keep else None,
    }
    return [items[i] for i in keep], [int(best[i]) for i in keep], report


def self_train(config, dataset, split, teacher, test_before, hooks, rows, checkpoints, unlabelled=None):
    """Pseudo-label the unlabelled folder with `teacher`, train a fresh network on training +
    confident pseudo-labels, and report the test accuracy before (`test_before`: the teacher's
    evaluate.Scores on the test split, or None) and after.

    Returns (the kept model, report, its Scores on the test split): the teacher and `test_before`
    when no prediction is confident enough."""
    if unlabelled is None:
        unlabelled = unlabelled_apart(config, dataset, hooks)
    kept, labels, report = pseudo_label(teacher, config.self_training, unlabelled, config.image_size,
                                        config.confidence)
    hooks.say(f"Self-training: {report['pseudo_labelled']} of {report['unlabelled']} unlabelled images "
              f"have confidence >= {config.confidence}")
    if not kept:
        report.update(gain=None, test_top1_after=None, test_top5_after=None, note="no confident predictions")
        return teacher, report, test_before
    root = Path(config.data).resolve()
    unlabelled_root = Path(config.self_training).resolve()
    # Pseudo-labelled items are addressed from the data root, so one pipeline reads both.
    relative = [data_module.Item(os.path.relpath(unlabelled_root / item.path, root), label, item.needs_pillow)
                for item, label in zip(kept, labels)]
    seed_everything(config.seed + 1)
    student, _ = fit.fit_network(
        config, _with_root(dataset, root), list(split.train) + relative, split.val, hooks, stage_prefix="self-",
        rows=rows, checkpoint_dir=checkpoints,
    )
    after = evaluate.evaluate_items(student, root, split.test, config.image_size) if split.test else None
    report["per_class"] = {dataset.classes[c]: labels.count(c) for c in sorted(set(labels))}
    if after and test_before:
        report.update(
            test_top1_before=test_before.top1, test_top5_before=test_before.top5,
            test_top1_after=after.top1, test_top5_after=after.top5, gain=after.top1 - test_before.top1,
        )
        hooks.say(f"Self-training gain on the test split: {report['gain']:+.3f} "
                  f"({test_before.top1:.3f} -> {after.top1:.3f})")
    else:
        report.update(gain=None, test_top1_after=None, test_top5_after=None)
    return student, report, after


def _with_root(dataset, root):
    return data_module.Dataset(root=root, classes=dataset.classes, items=dataset.items, skipped=dataset.skipped)
