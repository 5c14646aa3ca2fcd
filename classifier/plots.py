"""PNG pictures of training and evaluation (matplotlib, Agg backend, no display needed)."""

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(epochs, path, title):
    """Loss and accuracy per epoch (training and validation) from a list of epoch dicts
    ({"stage", "epoch", "loss", "accuracy", "val_loss", "val_accuracy"}), one line per stage."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    stages = []
    for entry in epochs:
        if entry.get("stage") not in stages:
            stages.append(entry.get("stage"))
    offset = 0
    for stage in stages:
        rows = [e for e in epochs if e.get("stage") == stage]
        xs = [offset + r.get("epoch", i + 1) for i, r in enumerate(rows)]  # the real epochs, after a resume too
        label = f" ({stage})" if len(stages) > 1 and stage else ""
        for axis, metric in zip(axes, ("loss", "accuracy")):
            if any(metric in r for r in rows):
                axis.plot(xs, [r.get(metric) for r in rows], "o-", label=f"train{label}")
            if any(f"val_{metric}" in r for r in rows):
                axis.plot(xs, [r.get(f"val_{metric}") for r in rows], "s--", label=f"validation{label}")
        if len(stages) > 1 and not stage.startswith("fold"):
            offset = xs[-1] if xs else offset
    for axis, metric in zip(axes, ("loss", "accuracy")):
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    axes[1].set_ylim(0, 1.02)
    figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path, plt)


def plot_confusion(matrix, classes, path, title):
    """A confusion matrix (rows: true class, columns: predicted), counts in the cells when small."""
    import numpy as np

    plt = _pyplot()
    matrix = np.asarray(matrix)
    n = len(classes)
    size = min(4 + 0.25 * n, 30)
    figure, axis = plt.subplots(figsize=(size, size))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis, fraction=0.046)
    if n <= 40:
        axis.set_xticks(range(n), classes, rotation=90, fontsize=max(4, 10 - n // 10))
        axis.set_yticks(range(n), classes, fontsize=max(4, 10 - n // 10))
    if n <= 15:
        for (row, col), value in np.ndenumerate(matrix):
            axis.text(col, row, int(value), ha="center", va="center",
                      color="white" if value > matrix.max() / 2 else "black", fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    figure.tight_layout()
    return _save(figure, path, plt)


def plot_accuracy_chart(results, path, title):
    """The book's headline: top-1 and top-5 per network (9, 16, 152 layers) and their average.
    `results`: [(label, top1, top5), …]."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    labels = [label for label, _, _ in results]
    xs = range(len(results))
    width = 0.38
    top1 = axis.bar([x - width / 2 for x in xs], [r[1] for r in results], width, label="top-1")
    top5 = axis.bar([x + width / 2 for x in xs], [r[2] for r in results], width, label="top-5")
    for bars in (top1, top5):
        for bar in bars:
            axis.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.01,
                      f"{bar.get_height():.0%}", ha="center", fontsize=8)
    axis.set_xticks(list(xs), labels)
    axis.set_ylim(0, 1.1)
    axis.set_ylabel("accuracy")
    axis.set_title(title)
    axis.legend()
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _save(figure, path, plt)


def _save(figure, path, plt):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
