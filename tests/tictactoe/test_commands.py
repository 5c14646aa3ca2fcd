"""train_tictactoe, evaluate_tictactoe and the bootstrap step, with tiny configurations."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from registry import registry, training
from registry.models import TrainedModel

pytestmark = pytest.mark.django_db


def run(*args, **options):
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def test_train_dqn_saves_the_model_curve_and_evaluation_and_registers_it():
    out = run("train_tictactoe", "--episodes", "40", "--eval-every", "20", "--eval-games", "200", "--seed", "4", "--activate")
    record = registry.active_record("tictactoe", "dqn")
    assert record is not None and record.architecture == "dqn"
    folder = registry.absolute_path(record.path).parent
    assert folder.name.startswith("dqn-seed4-run") and folder.parent == Path(settings.MODELS_DIR) / "tictactoe"
    assert (folder / "dqn.keras").exists() and (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((folder / "evaluation.json").read_text())
    assert report["games"] == 200 and set(report["exhaustive"]) == {"X", "O"}
    assert record.metrics["lost_lines"] == report["lost_lines"]
    assert record.training_run["config"]["episodes"] == 40 and record.training_run["config"]["seed"] == 4
    assert [h["episode"] for h in record.training_run["history"]] == [20, 40]
    assert record.parameters > 0 and record.input_size == [18]
    assert "episode     20: lost lines" in out and "Exhaustive check" in out and f"model #{record.pk}" in out


def test_train_qlearning_registers_an_inactive_table():
    out = run("train_tictactoe", "--algo", "qlearning", "--episodes", "300", "--eval-games", "100")
    record = TrainedModel.objects.get(architecture="qlearning")
    assert not record.active and record.path.endswith("qtable.json")
    assert "activate_model" in out


def test_train_dqn_teacher_registers_an_inactive_fitted_network():
    out = run("train_tictactoe", "--algo", "dqn-teacher", "--episodes", "30", "--eval-every", "30", "--eval-games", "50",
              "--unsafe-penalty", "1.5")
    record = TrainedModel.objects.get(architecture="dqn-teacher")
    assert not record.active and record.path.endswith("dqn.keras")
    assert record.training_run["config"]["unsafe_penalty"] == 1.5 and "distillation" in record.dataset
    assert "activate_model" in out


def test_a_flag_of_another_learner_is_refused():
    with pytest.raises(CommandError, match="--unsafe-penalty"):
        run("train_tictactoe", "--algo", "dqn", "--unsafe-penalty", "1")


def test_evaluate_a_qlearning_table_that_was_never_activated():
    run("train_tictactoe", "--algo", "qlearning", "--episodes", "300", "--eval-games", "50")
    record = TrainedModel.objects.get(architecture="qlearning")
    out = run("evaluate_tictactoe", "--arch", "qlearning", "--games", "100")
    assert f"model #{record.pk} tictactoe/qlearning" in out and "newest registered" in out
    assert "Exhaustive check" in out


def test_the_run_is_recorded_with_its_epochs():
    from registry.models import TrainingRun

    run("train_tictactoe", "--algo", "qlearning", "--episodes", "200", "--eval-every", "100", "--eval-games", "50")
    record = TrainingRun.objects.get(command="train_tictactoe")
    assert record.status == TrainingRun.Status.FINISHED
    assert [e["epoch"] for e in record.epochs] == [100, 200]
    assert {"model", "curves", "evaluation"} <= set(record.artifacts)


def test_the_run_writes_its_evaluations_for_tensorboard_at_their_episodes():
    from registry.models import TrainingRun
    from tests.registry.test_attempts import tensorboard_steps

    run("train_tictactoe", "--algo", "qlearning", "--episodes", "200", "--eval-every", "100", "--eval-games", "50")
    record = TrainingRun.objects.get(command="train_tictactoe")
    board = training.tensorboard_dir(record) / "fit" / "train"
    assert tensorboard_steps(board, "epoch_win_x") == [100, 200]


@pytest.mark.parametrize("flag", ["--episodes", "--eval-every", "--eval-games"])
def test_non_positive_counts_are_refused(flag):
    with pytest.raises(CommandError, match=flag):
        run("train_tictactoe", flag, "0")


def test_evaluate_without_an_active_agent_names_the_command():
    with pytest.raises(CommandError, match="manage.py"):
        run("evaluate_tictactoe")


def test_evaluate_the_shipped_dqn_reports_no_lost_lines(active_agent, tmp_path):
    path = tmp_path / "report" / "eval.json"
    out = run("evaluate_tictactoe", "--games", "2000", "--json", str(path))
    assert "Lost lines: 0 (unbeatable)." in out
    report = json.loads(path.read_text())
    assert report["model"] == active_agent.pk and report["lost_lines"] == 0 and report["games"] == 2000
    for side in "XO":
        assert report["exhaustive"][side]["loss"] == 0
        assert report["vs_minimax"][side]["loss"] == 0
        assert abs(report["vs_random_exact"][side]["win"] - report["limits"][side]) <= 0.01


def test_evaluate_refuses_zero_games():
    with pytest.raises(CommandError):
        run("evaluate_tictactoe", "--games", "0")


def test_bootstrap_installs_the_shipped_dqn_once():
    from django.core.management.color import no_style

    from tictactoe.bootstrap import make_demo

    out = StringIO()
    make_demo(stdout=out, style=no_style())
    record = registry.active_record("tictactoe", "dqn")
    assert record is not None and registry.absolute_path(record.path).exists()
    assert record.metrics["lost_lines"] == 0
    assert record.training_run["command"].startswith("python manage.py train_tictactoe")
    assert "Registered and activated" in out.getvalue()
    again = StringIO()
    make_demo(stdout=again, style=no_style())
    assert "nothing to do" in again.getvalue()
    assert TrainedModel.objects.filter(task="tictactoe").count() == 1
