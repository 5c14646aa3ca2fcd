"""The result table's maths, pure: each variant's metric as mean ± std over seeds, and each
variant's difference from the baseline with its spread.

The std is the sample standard deviation (n - 1), as BENCHMARKS.md publishes; one seed has no
spread (None). A difference is paired by seed (variant minus baseline on the same seed: the same
split and initial draw), so the spread is that of the per-seed differences, not of the two means.
"""

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float | None  # None with a single value
    n: int


@dataclass(frozen=True)
class Row:
    variant: str
    metric: str
    summary: Summary
    values: dict  # {seed: value}


@dataclass(frozen=True)
class Difference:
    variant: str
    baseline: str
    summary: Summary  # of the per-seed differences variant - baseline
    seeds: tuple  # the seeds both measured


def summarise(values):
    """Mean and sample std of a non-empty sequence of numbers."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("No values to summarise.")
    std = statistics.stdev(values) if len(values) > 1 else None
    return Summary(statistics.fmean(values), std, len(values))


def paired_difference(values, baseline):
    """variant - baseline on each seed both have ({seed: value} each); None when they share none."""
    seeds = tuple(sorted(set(values) & set(baseline)))
    if not seeds:
        return None
    return seeds, summarise([values[s] - baseline[s] for s in seeds])


def result_table(measurements, variants, metrics):
    """(rows, differences) from measurements [{variant, seed, value}], in the order of `variants`
    (the first is the baseline); `metrics` names each variant's metric. Variants not measured
    yet are left out."""
    by_variant = {}
    for m in measurements:
        if m.get("value") is not None:
            by_variant.setdefault(m["variant"], {})[m["seed"]] = m["value"]
    rows = [Row(v, metrics[v], summarise(by_variant[v].values()), by_variant[v]) for v in variants if v in by_variant]
    differences = []
    if rows and rows[0].variant == variants[0]:
        baseline = rows[0]
        for row in rows[1:]:
            paired = paired_difference(row.values, baseline.values)
            if paired:
                differences.append(Difference(row.variant, baseline.variant, paired[1], paired[0]))
    return rows, differences


def format_summary(summary, digits=3, scale=1.0, signed=False):
    """'0.912 ± 0.013' (a lone value without the ±); `signed` puts + before a positive mean."""
    sign = "+" if signed else ""
    text = f"{scale * summary.mean:{sign}.{digits}f}"
    return text if summary.std is None else f"{text} ± {scale * summary.std:.{digits}f}"
