"""A registry entry's metrics as people read them on the Models page: fractions as percentages,
times in seconds or minutes, counts with separators, yes/no, and per-class scores (a dict of
numbers) as small bars sorted from best to worst. The raw value stays beside each for scripts."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

LABELS = {
    "test_top1": _("Test top-1"),
    "test_top5": _("Test top-5"),
    "val_accuracy": _("Validation accuracy"),
    "cv_val_accuracy_mean": _("Cross-validated accuracy"),
    "cv_val_accuracy_std": _("Cross-validation spread"),
    "self_training_gain": _("Self-training gain"),
    "map50": _("mAP@0.5"),
    "ap": _("Per-class AP"),
    "val_map50": _("Validation mAP@0.5"),
    "best_epoch": _("Best epoch"),
    "latency_ms": _("Latency"),
    "train_seconds": _("Training time"),
    "games": _("Evaluation games"),
    "lost_lines": _("Lost lines"),
    "lost_lines_x": _("Lost lines as X"),
    "lost_lines_o": _("Lost lines as O"),
    "win_x": _("Wins vs random as X"),
    "win_o": _("Wins vs random as O"),
    "win_x_exact": _("Wins vs random as X (exact)"),
    "win_o_exact": _("Wins vs random as O (exact)"),
    "unbeatable": _("Never loses"),
    "within_one_point": _("Within a point of perfect"),
}
# Metrics that are fractions of 1, shown as percentages.
FRACTION_WORDS = ("accuracy", "top1", "top5", "map", "win", "gain", "ap")


@dataclass(frozen=True)
class Fact:
    name: str
    label: str
    text: str
    value: object  # the raw value


@dataclass(frozen=True)
class Bar:
    name: str
    value: float
    text: str


def seconds_text(seconds):
    """Seconds as people read a length of time: "42s", "3m 05s", "1h 02m"; empty for None."""
    if seconds is None or isinstance(seconds, bool):
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def percent(value, signed=False):
    return f"{100 * value:{'+' if signed else ''}.1f}%"


def is_fraction(name, value):
    words = name.lower().split("_")
    return isinstance(value, float) and 0 <= abs(value) <= 1 and any(w.startswith(FRACTION_WORDS) for w in words)


def display(name, value):
    """One metric's value as text."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if name.endswith("seconds") and isinstance(value, (int, float)):
        return seconds_text(value)
    if name.endswith("_ms") and isinstance(value, (int, float)):
        return f"{value:,.1f} ms"
    if is_fraction(name, value):
        return percent(value, signed=name.endswith("gain"))
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def label(name):
    return str(LABELS.get(name) or name.replace("_", " ").capitalize())


def facts(metrics):
    """The scalar metrics, in their recorded order, as Facts (per-class dicts are bars instead)."""
    return [Fact(name, label(name), display(name, value), value)
            for name, value in (metrics or {}).items() if not isinstance(value, (dict, list))]


def bars(scores):
    """{class: score in [0, 1]} as Bars sorted from the highest score; names break ties."""
    ordered = sorted(((str(k), float(v)) for k, v in (scores or {}).items() if isinstance(v, (int, float))),
                     key=lambda item: (-item[1], item[0]))
    return [Bar(name, value, percent(value)) for name, value in ordered]


def per_class(metrics):
    """{metric name: bars} for the metrics that are per-class dicts (the detector's "ap")."""
    return {label(name): bars(value) for name, value in (metrics or {}).items() if isinstance(value, dict) and value}
