"""registry/metric_display.py: the Models page's metrics as people read them."""

import pytest
from django.utils import translation

from registry import metric_display as md


@pytest.fixture(autouse=True)
def in_english():
    """The labels are translated: these tests read them in English, whatever ran before."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize("name, value, shown", [
    ("test_top1", 0.912345, "91.2%"),
    ("val_accuracy", 1.0, "100.0%"),
    ("map50", 0.936, "93.6%"),
    ("win_o_exact", 0.9164, "91.6%"),
    ("self_training_gain", 0.021, "+2.1%"),
    ("train_seconds", 109.0, "1m 49s"),
    ("latency_ms", 4.23, "4.2 ms"),
    ("games", 10000, "10,000"),
    ("lost_lines", 0, "0"),
    ("best_epoch", 7, "7"),
    ("unbeatable", True, "yes"),
    ("loss", 0.123456, "0.1235"),
])
def test_each_kind_of_metric_is_formatted_for_people(name, value, shown):
    assert md.display(name, value) == shown


def test_facts_keep_the_recorded_order_and_label_known_metrics():
    facts = md.facts({"test_top1": 0.5, "custom_score": 2.5, "ap": {"a": 1.0}})
    assert [(f.name, f.label, f.text) for f in facts] == [("test_top1", "Test top-1", "50.0%"),
                                                         ("custom_score", "Custom score", "2.5")]


def test_per_class_scores_are_bars_sorted_from_the_best():
    bars = md.bars({"cat": 0.5, "dog": 0.9, "ant": 0.5})
    assert [(b.name, b.text) for b in bars] == [("dog", "90.0%"), ("ant", "50.0%"), ("cat", "50.0%")]
    assert list(md.per_class({"ap": {"x": 0.1}, "map50": 0.2})) == ["Per-class AP"]


def test_seconds_read_as_a_length_of_time():
    assert [md.seconds_text(s) for s in (None, 42, 185, 3720)] == ["", "42s", "3m 05s", "1h 02m"]
