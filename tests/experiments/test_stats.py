"""experiments/stats.py: mean ± sample std per variant, differences paired by seed."""

import math

import pytest

from experiments import stats


def test_summary_is_the_mean_and_sample_standard_deviation():
    summary = stats.summarise([0.8, 0.9, 1.0])
    assert summary.mean == pytest.approx(0.9)
    assert summary.std == pytest.approx(0.1)  # n - 1 in the denominator
    assert summary.n == 3


def test_a_single_value_has_no_spread():
    summary = stats.summarise([0.5])
    assert (summary.mean, summary.std, summary.n) == (0.5, None, 1)
    assert stats.format_summary(summary) == "0.500"


def test_no_values_is_an_error():
    with pytest.raises(ValueError):
        stats.summarise([])


def test_difference_is_paired_by_seed_not_a_difference_of_means():
    baseline = {0: 0.50, 1: 0.70, 2: 0.90}
    variant = {0: 0.60, 1: 0.80, 2: 1.00}  # always 0.1 better on the same seed
    seeds, summary = stats.paired_difference(variant, baseline)
    assert seeds == (0, 1, 2)
    assert summary.mean == pytest.approx(0.1)
    assert summary.std == pytest.approx(0.0, abs=1e-12)


def test_difference_uses_only_the_seeds_both_measured():
    seeds, summary = stats.paired_difference({0: 1.0, 1: 3.0, 5: 9.0}, {0: 0.0, 1: 0.0, 2: 4.0})
    assert seeds == (0, 1)
    assert summary.mean == pytest.approx(2.0)
    assert summary.std == pytest.approx(math.sqrt(2.0))
    assert stats.paired_difference({0: 1.0}, {1: 1.0}) is None


def test_result_table_orders_rows_by_variant_and_compares_with_the_first():
    measurements = [
        {"variant": "b", "seed": 0, "value": 0.6}, {"variant": "a", "seed": 0, "value": 0.5},
        {"variant": "b", "seed": 1, "value": 0.9}, {"variant": "a", "seed": 1, "value": 0.7},
        {"variant": "c", "seed": 0, "value": None},  # a run that registered no metric is not counted
    ]
    rows, differences = stats.result_table(measurements, ["a", "b", "c"], {"a": "m", "b": "m", "c": "m"})
    assert [r.variant for r in rows] == ["a", "b"]
    assert rows[1].summary.mean == pytest.approx(0.75)
    assert rows[1].values == {0: 0.6, 1: 0.9}
    [difference] = differences
    assert (difference.variant, difference.baseline, difference.seeds) == ("b", "a", (0, 1))
    assert difference.summary.mean == pytest.approx(0.15)
    assert difference.summary.std == pytest.approx(math.sqrt(2) * 0.05)
    assert stats.format_summary(difference.summary, signed=True) == "+0.150 ± 0.071"


def test_no_difference_without_the_baseline():
    rows, differences = stats.result_table([{"variant": "b", "seed": 0, "value": 1.0}], ["a", "b"], {"a": "m", "b": "m"})
    assert [r.variant for r in rows] == ["b"] and differences == []
