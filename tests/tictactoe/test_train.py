"""train(config, out_dir, hooks): the learner chosen by the config's type, the agent saved with its
curve and the evaluation of the saved file."""

import json
import os
import signal

import pytest

from deepboot.hooks import TrainHooks
from deepboot.stopping import Stopper
from tictactoe import dqn, dqn_teacher, qlearning, train


def test_the_learner_follows_the_config_type():
    assert train.algorithm_of(dqn.DQNConfig()) == "dqn"
    assert train.algorithm_of(dqn_teacher.TeacherConfig()) == "dqn-teacher"
    assert train.algorithm_of(qlearning.QLearningConfig()) == "qlearning"
    with pytest.raises(TypeError, match="DQNConfig"):
        train.algorithm_of(object())


def test_a_table_run_saves_its_table_curve_and_the_evaluation_of_the_saved_file(tmp_path):
    episodes, recorded = [], []
    hooks = TrainHooks(log_epoch=lambda epoch, metrics, stage=None: recorded.append(epoch),
                       extra={"on_episode": lambda episode, values: episodes.append(episode)})
    config = qlearning.QLearningConfig(seed=2, episodes=200, eval_every=100, eval_games=50)
    result = train.train(config, tmp_path / "run", hooks)
    assert result.algo == "qlearning" and result.path == tmp_path / "run" / "qtable.json"
    assert result.curves.read_bytes()[:4] == b"\x89PNG"
    assert json.loads(result.report_path.read_text())["games"] == 50 == result.report.games
    assert result.summary["config"]["eval_games"] == 50 and [h["episode"] for h in result.summary["history"]] == [100, 200]
    assert "episodes_to_unbeatable" in result.summary
    assert recorded == [100, 200] and episodes == list(range(1, 201))


def test_a_dqn_run_saves_a_network_that_reloads(tmp_path):
    from tictactoe import networks

    config = dqn.DQNConfig(seed=3, episodes=20, hidden_units=8, learning_starts=32, batch_size=16, eval_every=20, eval_games=20)
    result = train.train(config, tmp_path, TrainHooks())
    assert result.path.name == "dqn.keras" and result.layers == 3
    assert networks.load_model(result.path).count_params() == result.parameters


def test_a_sigterm_ends_a_dqn_run_between_two_games_and_the_same_folder_resumes_it(tmp_path):
    """A stop is held through the game it came in (its learning steps, its evaluation, its saved
    state) and raised as the next game would begin: raised inside a train step, it came out as a
    SystemError and the run was recorded as failed."""
    config = dqn.DQNConfig(seed=5, episodes=80, hidden_units=8, batch_size=16, learning_starts=32,
                           eval_every=40, eval_games=10)
    games, recorded = [], []

    def signal_after_game_40(episode, values):  # called after the game's learning, before its evaluation
        if episode == 40:
            os.kill(os.getpid(), signal.SIGTERM)
        games.append(episode)  # still running: the stop waits

    stopper = Stopper()
    hooks = TrainHooks(resume_dir=tmp_path / "backup", stopper=stopper, extra={"on_episode": signal_after_game_40},
                       log_epoch=lambda epoch, metrics, stage=None: recorded.append(epoch))
    with stopper.installed(), pytest.raises(KeyboardInterrupt):
        stopper.hold()  # as a recorded run holds stops (registry/training.py)
        train.train(config, tmp_path / "run", hooks)
    assert games == list(range(1, 41)) and recorded == [40]  # game 40 evaluated and saved; no game 41
    assert not (tmp_path / "run" / "dqn.keras").exists()

    resumed = train.train(config, tmp_path / "run", TrainHooks(resume_dir=tmp_path / "backup"))
    assert [h["episode"] for h in resumed.summary["history"]] == [40, 80]
