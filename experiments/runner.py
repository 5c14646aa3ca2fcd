"""run_experiment's work: train every variant over the seeds with the app's own train_* command
(through call_command, with its documented flags: its models are registered, never activated),
find each run by its note, read the variant's metric from the model it registered, and record it
on the ExperimentResult as it comes in, so /experiments/<name>/ fills while it runs."""

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from registry.models import TrainingRun

from . import averaging, catalogue, datakind, unlabelled
from .models import ExperimentResult


class ExperimentError(ValueError):
    pass


def shown_path(data):
    """A data folder as the public page may show it: relative to the site's folder, else its name."""
    if data is None:
        return None
    try:
        return str(Path(data).relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return Path(data).name


def run_experiment(name, data=None, seeds=1, quick=False, stdout=None, verbosity=1):
    """Run experiment `name` to the end; returns its ExperimentResult. Raises ExperimentError for
    bad input before anything is recorded."""
    experiment = catalogue.EXPERIMENTS.get(name)
    if experiment is None:
        raise ExperimentError(f"Unknown experiment {name!r}; expected one of: {', '.join(catalogue.NAMES)}.")
    if seeds < 1:
        raise ExperimentError("--seeds must be at least 1.")
    if experiment.needs_data:
        try:
            data = datakind.check(experiment.kind, name, data)
        except datakind.DataKindError as exc:
            raise ExperimentError(str(exc)) from exc
    else:
        data = None
    result = ExperimentResult.objects.create(
        name=name, quick=quick, seeds=seeds, data=shown_path(data) or "",
        command_line=catalogue.command_line(name, shown_path(data), seeds, quick))
    scratch = Path(settings.VAR_DIR) / "experiments" / f"{name}-{result.pk}"
    try:
        _measure(experiment, result, data, seeds, quick, scratch, stdout, verbosity)
    except BaseException as exc:
        interrupted = isinstance(exc, (KeyboardInterrupt, SystemExit))
        result.status = ExperimentResult.Status.INTERRUPTED if interrupted else ExperimentResult.Status.FAILED
        result.error = "" if interrupted else f"{exc.__class__.__name__}: {exc}"
        result.finished = timezone.now()
        result.save()
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.status = ExperimentResult.Status.FINISHED
    result.finished = timezone.now()
    result.save()
    return result


def _measure(experiment, result, data, seeds, quick, scratch, stdout, verbosity):
    fill = {}
    if any("{unlabelled}" in v.arguments for v in experiment.variants_for(quick)):
        data, fill["unlabelled"] = unlabelled.set_apart(data, scratch)
    variants = experiment.variants_for(quick)
    total = seeds * len(variants)
    for seed in range(seeds):
        models = []
        for variant in variants:
            step = len(result.measurements) + 1
            if variant.trained:
                run = _train(experiment, result, variant, seed, data, quick, fill, stdout, verbosity)
                value = run.model.metrics.get(experiment.metric_of(variant)) if run.model else None
                models.append(run.model)
                measurement = {"variant": variant.name, "seed": seed, "value": value, "runs": [run.pk]}
            else:  # the model average of this seed's members
                value = averaging.average_top1([m for m in models if m], data)
                measurement = {"variant": variant.name, "seed": seed, "value": value,
                               "runs": [m["runs"][0] for m in result.measurements if m["seed"] == seed]}
            result.measurements = [*result.measurements, measurement]
            result.save(update_fields=["measurements"])
            if stdout is not None:
                stdout.write(f"[{step}/{total}] {experiment.name}: {variant.name}, seed {seed}: "
                             f"{experiment.metric_of(variant)} = {value}")


def _train(experiment, result, variant, seed, data, quick, fill, stdout, verbosity):
    """One training run of `variant` at `seed`, through its command; returns its TrainingRun."""
    note = f"experiment {experiment.name} #{result.pk}: {variant.name}, seed {seed}"
    arguments = [*experiment.common_arguments(quick), *(a.format(**fill) for a in variant.arguments),
                 "--seed", str(seed), "--note", note]
    if data is not None:
        arguments += ["--data", str(data)]
    if experiment.kind == catalogue.CLASSIFICATION:  # its own folder, named for what it is
        slug = variant.name.replace(" ", "-")
        arguments += ["--name", f"experiment-{experiment.name}-{result.pk}-{slug}-seed{seed}"]
    call_command(experiment.command, *arguments, stdout=stdout, verbosity=verbosity)
    return TrainingRun.objects.select_related("model").filter(note=note).latest("pk")
