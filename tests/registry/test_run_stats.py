"""registry/run_stats.py: progress and ETA, best validation metric, attempts, differing
hyper-parameters, on unsaved TrainingRun records."""

from datetime import timedelta

import pytest

from django.utils import timezone

from registry import run_stats
from registry.models import TrainingRun

T0 = timezone.now() - timedelta(hours=1)


def run(**fields):
    defaults = {"command": "train_toy", "arguments": {"epochs": 6}, "epochs": [], "status": "running", "started": T0}
    record = TrainingRun(**{**defaults, **fields})
    record.started = fields.get("started", T0)
    return record


def epochs(*losses):
    return [{"epoch": i + 1, "loss": loss, "val_loss": loss + 0.1, "val_accuracy": 1 - loss} for i, loss in enumerate(losses)]


def test_progress_is_epoch_k_of_n_with_the_pace_and_the_time_left():
    record = run(epochs=epochs(0.9, 0.8))
    p = run_stats.progress(record, now=T0 + timedelta(seconds=60))
    assert (p["epoch"], p["of"]) == (2, 6)
    assert p["seconds_per_epoch"] == 30 and p["eta_seconds"] == 120


@pytest.mark.django_db
def test_the_pace_of_a_resumed_run_leaves_out_the_pause_between_its_attempts():
    from registry.models import RunAttempt

    record = run(epochs=epochs(0.9, 0.8, 0.7))
    record.save()
    TrainingRun.objects.filter(pk=record.pk).update(started=T0)  # `started` is set on creation
    record.refresh_from_db()
    RunAttempt.objects.create(run=record, number=1, started=T0, finished=T0 + timedelta(seconds=60), outcome="interrupted")
    RunAttempt.objects.create(run=record, number=2, started=T0 + timedelta(hours=1))
    p = run_stats.progress(record, now=T0 + timedelta(hours=1, seconds=30))
    assert p["seconds_per_epoch"] == 30 and p["eta_seconds"] == 90
    assert p["elapsed_seconds"] == 3630


def test_two_stage_training_plans_both_stages():
    assert run_stats.planned_epochs(run(arguments={"epochs": 3, "two_stage": True})) == 6


def test_a_finished_run_has_a_pace_but_no_time_left():
    record = run(epochs=epochs(0.9, 0.8, 0.7), status="finished", finished=T0 + timedelta(seconds=90))
    p = run_stats.progress(record)
    assert p["seconds_per_epoch"] == 30 and p["eta_seconds"] is None and p["elapsed_seconds"] == 90


def test_a_command_without_an_epoch_count_has_no_total():
    assert run_stats.planned_epochs(run(arguments={"episodes": 500}, epochs=epochs(0.5))) is None


def test_best_validation_is_the_highest_accuracy_not_the_last():
    best = run_stats.best_validation(run(epochs=epochs(0.9, 0.2, 0.5)))
    assert best == {"metric": "val_accuracy", "value": 0.8, "epoch": 2}


def test_best_validation_falls_back_to_the_lowest_loss():
    record = run(epochs=[{"epoch": 1, "val_loss": 0.5}, {"epoch": 2, "val_loss": 0.3}, {"epoch": 3, "val_loss": 0.4}])
    assert run_stats.best_validation(record) == {"metric": "val_loss", "value": 0.3, "epoch": 2}


def test_no_validation_metric_means_no_best():
    assert run_stats.best_validation(run(epochs=[{"epoch": 1, "loss": 0.5}])) is None


def test_attempts_count_the_first_run_and_each_resume():
    assert run_stats.attempt_count(run()) == 1
    assert run_stats.attempt_count(run(resumed=2)) == 3


def test_differing_parameters_leave_out_shared_ones_and_paths():
    a = run(arguments={"epochs": 6, "lr": 0.001, "data": "/a", "seed": 0})
    b = run(arguments={"epochs": 6, "lr": 0.01, "data": "/b"})
    assert run_stats.differing_parameters([a, b]) == [("lr", [0.001, 0.01]), ("seed", [0, None])]


def test_final_metrics_are_the_last_value_of_each():
    assert run_stats.final_metrics(run(epochs=epochs(0.9, 0.5)))["loss"] == 0.5
