"""train(config, out_dir, hooks): the learner chosen by the config's type, the agent saved with its
curve and the evaluation of the saved file."""

import json

import pytest

from deepboot.hooks import TrainHooks
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
