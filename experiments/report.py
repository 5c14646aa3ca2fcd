"""What the experiment pages show, as plain data: an experiment's latest result, its table rows
(mean ± std per variant, differences from the baseline), and the runs' epochs for the curves."""

from dataclasses import dataclass

from registry.models import TrainingRun

from . import catalogue, stats
from .models import ExperimentResult


@dataclass
class Report:
    experiment: catalogue.Experiment
    result: ExperimentResult | None
    rows: list
    differences: list
    curves: list  # [{variant, colour, seed, run, epochs}]

    @property
    def command(self):
        return self.result.command_line if self.result else catalogue.command_line(self.experiment.name)


def latest_results():
    """{name: the latest ExperimentResult} for every experiment that has one."""
    latest = {}
    for result in ExperimentResult.objects.all():
        latest.setdefault(result.name, result)
    return latest


def report(name):
    experiment = catalogue.EXPERIMENTS[name]
    result = ExperimentResult.objects.filter(name=name).first()
    if result is None:
        return Report(experiment, None, [], [], [])
    variants = experiment.variants_for(result.quick)
    rows, differences = stats.result_table(
        result.measurements, [v.name for v in variants], {v.name: experiment.metric_of(v) for v in variants})
    colours = {v.name: index for index, v in enumerate(variants)}
    trained = {v.name for v in variants if v.trained}
    runs = TrainingRun.objects.in_bulk(result.run_ids())
    curves = [
        {"variant": m["variant"], "colour": colours.get(m["variant"], 0), "seed": m["seed"], "run": pk,
         "epochs": runs[pk].epochs}
        for m in result.measurements if m["variant"] in trained for pk in m.get("runs", []) if pk in runs
    ]
    return Report(experiment, result, rows, differences, curves)


def run_links(result):
    """[(variant, seed, run id)] of every training run behind a result."""
    if result is None:
        return []
    return [(m["variant"], m["seed"], pk) for m in result.measurements for pk in m.get("runs", [])]
