"""PNG pictures of a detector's training and evaluation (matplotlib, Agg backend, no display
needed): the learning curves of a run and the precision-recall curves of an evaluation."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history, path, title):
    """Loss (train, val) and validation mAP per epoch from a Keras history ({metric: [per epoch]}),
    as a PNG at `path`; returns `path`."""
    plt = _pyplot()
    epochs = range(1, len(history.get("loss", [])) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if history.get(key):
            left.plot(epochs, history[key], marker=".", label=label)
    left.set_xlabel("epoch")
    left.set_ylabel("YOLO loss")
    left.set_yscale("log")
    left.legend()
    left.grid(alpha=0.3)
    if history.get("val_map50"):
        right.plot(epochs, history["val_map50"], marker=".", color="tab:green")
    right.set_xlabel("epoch")
    right.set_ylabel("validation mAP@0.5")
    right.set_ylim(0, 1)
    right.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_precision_recall(results, path, title="Precision-recall (IoU 0.5)"):
    """One PR curve per class (AP in the legend) from {class: metrics.ClassResult}, as a PNG at
    `path`; returns `path`."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 5))
    for name, result in sorted(results.items()):
        axes.plot(result.recall, result.precision, label=f"{name} (AP {result.ap:.3f})")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1.0)
    axes.set_ylim(0, 1.02)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if results:
        axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
