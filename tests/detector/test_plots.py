"""The pictures: learning curves of a run and precision-recall curves of an evaluation."""

from PIL import Image

from detector.boxes import Detection
from detector.metrics import evaluate
from detector.plots import plot_curves, plot_precision_recall

PNG = b"\x89PNG\r\n\x1a\n"


def test_precision_recall_plot_is_a_png(tmp_path):
    _, per_class = evaluate(
        {"a": [Detection((0, 0, 10, 10), "cat", 0.9)]}, {"a": [("cat", [0, 0, 10, 10], False)]}, ["cat"]
    )
    path = plot_precision_recall(per_class, tmp_path / "pr.png")
    assert path.read_bytes()[:8] == PNG


def test_learning_curves_are_a_png_with_loss_and_map_side_by_side(tmp_path):
    history = {"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.0], "val_map50": [0.1, 0.3, 0.4]}
    path = plot_curves(history, tmp_path / "curves.png", "tiny on scenes")
    assert path.read_bytes()[:8] == PNG
    width, height = Image.open(path).size
    assert width > height  # two panels


def test_learning_curves_without_validation_still_draw(tmp_path):
    path = plot_curves({"loss": [1.0, 0.5]}, tmp_path / "curves.png", "no validation")
    assert path.read_bytes()[:8] == PNG
