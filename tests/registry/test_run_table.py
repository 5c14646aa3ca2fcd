"""registry/run_table.py: the /runs/ list filtered and sorted from the query string."""

import pytest
from django.http import QueryDict

from registry import run_table
from registry.models import TrainingRun

pytestmark = pytest.mark.django_db


def make(task, arch, status, best, **args):
    return TrainingRun.objects.create(
        command="train_toy", resume_key=f"{task}{arch}{best}", task=task, architecture=arch, status=status,
        arguments=args, epochs=[{"epoch": 1, "val_accuracy": best}] if best is not None else [],
    )


def ids(query_string):
    query = run_table.Query.from_get(QueryDict(query_string))
    return [row.run.pk for row in run_table.rows(TrainingRun.objects.all(), query)]


@pytest.fixture
def runs():
    return [
        make("classification", "cnn9", "finished", 0.7, batch_size=32),
        make("classification", "vgg16", "failed", 0.9, batch_size=64),
        make("detection", "tiny", "running", None, batch_size=32),
    ]


def test_filters_by_task_architecture_and_status(runs):
    assert ids("task=classification") == [runs[1].pk, runs[0].pk]
    assert ids("arch=tiny") == [runs[2].pk]
    assert ids("status=failed") == [runs[1].pk]


def test_filters_by_a_hyper_parameter_value(runs):
    assert sorted(ids("param=batch_size=32")) == [runs[0].pk, runs[2].pk]


def test_sorts_by_best_validation_with_runs_lacking_one_last(runs):
    assert ids("sort=-best") == [runs[1].pk, runs[0].pk, runs[2].pk]
    assert ids("sort=best") == [runs[0].pk, runs[1].pk, runs[2].pk]


def test_an_unknown_sort_falls_back_to_the_newest_first(runs):
    assert ids("sort=nonsense") == [r.pk for r in reversed(runs)]


def test_sort_links_keep_the_filters_and_reverse_the_sorted_column():
    links = run_table.Query.from_get(QueryDict("task=detection&sort=best")).sort_links()
    assert links["best"] == "task=detection&sort=-best" and links["duration"] == "task=detection&sort=duration"
