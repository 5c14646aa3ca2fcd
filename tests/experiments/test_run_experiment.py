"""run_experiment: each variant trained over the seeds through the train_* commands and recorded
(runs found by their note, models registered but never active), the result stored as it comes
in; bad input refused with a sentence naming what is expected."""

import dataclasses
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from experiments import catalogue
from experiments.catalogue import Variant
from experiments.models import ExperimentResult
from registry.models import TrainedModel, TrainingRun

pytestmark = pytest.mark.django_db


def shrink(monkeypatch, name, **fields):
    """Make experiment `name`'s --quick setting tinier still, for a test."""
    smaller = dataclasses.replace(catalogue.EXPERIMENTS[name], **fields)
    monkeypatch.setitem(catalogue.EXPERIMENTS, name, smaller)


@pytest.fixture(scope="module")
def tiny_classes(tmp_path_factory):
    from classifier.demo_data import make_demo_data

    return make_demo_data(tmp_path_factory.mktemp("experiment") / "classes", seed=5, per_class=5)


@pytest.fixture(scope="module")
def voc_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voc") / "voc"
    (folder / "JPEGImages").mkdir(parents=True)
    (folder / "Annotations").mkdir()
    return folder


@pytest.mark.slow
def test_qlearning_vs_dqn_trains_each_variant_per_seed_and_records_the_runs(monkeypatch):
    shrink(monkeypatch, "qlearning-vs-dqn", quick=("--eval-games", "20"), quick_variants=(
        Variant("qlearning", ("--algo", "qlearning", "--episodes", "200", "--eval-every", "100")),
        Variant("dqn", ("--algo", "dqn", "--episodes", "10", "--eval-every", "5"))))
    out = io.StringIO()
    call_command("run_experiment", "qlearning-vs-dqn", "--seeds", "2", "--quick", stdout=out)
    result = ExperimentResult.objects.get()
    assert result.status == "finished" and result.seeds == 2 and result.quick
    assert result.command_line == "python manage.py run_experiment qlearning-vs-dqn --seeds 2 --quick"
    assert [(m["variant"], m["seed"]) for m in result.measurements] == [
        ("qlearning", 0), ("dqn", 0), ("qlearning", 1), ("dqn", 1)]
    runs = TrainingRun.objects.filter(pk__in=result.run_ids())
    assert runs.count() == 4 and {r.status for r in runs} == {"finished"}
    for m in result.measurements:
        run = runs.get(pk=m["runs"][0])
        assert run.note == f"experiment qlearning-vs-dqn #{result.pk}: {m['variant']}, seed {m['seed']}"
        assert run.arguments["seed"] == m["seed"]
        assert m["value"] == run.model.metrics["lost_lines"]
        assert run.epochs  # the evaluations, as the learning curve
    assert not TrainedModel.objects.filter(active=True).exists()
    assert "[4/4] qlearning-vs-dqn: dqn, seed 1" in out.getvalue()
    assert "dqn - qlearning:" in out.getvalue()


@pytest.mark.slow
def test_averaging_scores_the_members_and_their_average_on_the_shared_test_split(monkeypatch, tiny_classes):
    shrink(monkeypatch, "averaging", quick=("--image-size", "32", "--epochs", "1", "--batch-size", "32", "--run-eagerly"),
           quick_variants=(Variant("cnn9", ("--arch", "cnn9")),
                           Variant("cnn9 without augmentation", ("--arch", "cnn9", "--augment", "none")),
                           Variant("average", trained=False)))
    call_command("run_experiment", "averaging", "--data", str(tiny_classes), "--seeds", "1", "--quick",
                 stdout=io.StringIO())
    result = ExperimentResult.objects.get()
    assert result.status == "finished" and result.data == tiny_classes.name
    members, average = result.measurements[:2], result.measurements[2]
    assert average["variant"] == "average" and 0 <= average["value"] <= 1
    assert average["runs"] == [m["runs"][0] for m in members]
    for m in members:
        run = TrainingRun.objects.get(pk=m["runs"][0])
        assert m["value"] == run.model.metrics["test_top1"] and not run.model.active
        assert run.model.path.startswith(f"classification/experiment-averaging-{result.pk}-cnn9")


def test_an_unknown_experiment_names_the_ones_there_are():
    with pytest.raises(CommandError) as error:
        call_command("run_experiment", "dropout", "--data", ".")
    assert "augmentation" in str(error.value) and "detector-schedule" in str(error.value)


def test_a_voc_folder_is_refused_by_a_classifier_experiment(voc_folder):
    with pytest.raises(CommandError, match=r"expects a classification folder DIR/<class>/<image>.*VOC"):
        call_command("run_experiment", "augmentation", "--data", str(voc_folder), "--quick")
    assert not ExperimentResult.objects.exists()


def test_class_folders_are_refused_by_the_detector_experiment(tiny_classes):
    with pytest.raises(CommandError, match=r"expects a VOC detection folder with JPEGImages/ and Annotations/"):
        call_command("run_experiment", "detector-schedule", "--data", str(tiny_classes))


def test_a_classifier_experiment_needs_data():
    with pytest.raises(CommandError, match=r"optimizers needs --data DIR"):
        call_command("run_experiment", "optimizers")


def test_a_missing_folder_and_too_few_seeds_are_refused(tmp_path, tiny_classes):
    with pytest.raises(CommandError, match="No data folder"):
        call_command("run_experiment", "validation", "--data", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="--seeds must be at least 1"):
        call_command("run_experiment", "validation", "--data", str(tiny_classes), "--seeds", "0")


def test_every_experiment_has_a_baseline_a_book_sentence_and_quick_variants():
    for experiment in catalogue.EXPERIMENTS.values():
        for quick in (False, True):
            variants = experiment.variants_for(quick)
            assert len(variants) >= 2 and variants[0].trained
            assert len({v.name for v in variants}) == len(variants)
        assert experiment.book.endswith(".")
    assert set(catalogue.NAMES) == {"augmentation", "two-stage", "optimizers", "self-training", "averaging",
                                    "validation", "qlearning-vs-dqn", "detector-schedule"}


@pytest.mark.parametrize("stop, status", [(SystemExit(130), "interrupted"), (CommandError("bad flag"), "failed")])
def test_a_stopped_or_failed_training_run_ends_the_experiment_with_that_status(monkeypatch, stop, status):
    def train(*args, **kwargs):
        raise stop

    monkeypatch.setattr("experiments.runner.call_command", train)
    with pytest.raises(type(stop)):
        call_command("run_experiment", "qlearning-vs-dqn", "--seeds", "1", "--quick", stdout=io.StringIO())
    result = ExperimentResult.objects.get()
    assert result.status == status and result.finished is not None
    assert ("bad flag" in result.error) == (status == "failed")
