"""The model-free DQN: its schedule and negamax targets, and tiny training runs (they learn, never
call the solver, report each evaluation through the hooks, and are deterministic and resumable per
seed). Its network is tested in test_networks.py, its replay memory in test_replay.py."""

import numpy as np
import pytest

from deepboot.hooks import TrainHooks
from tictactoe import dqn, engine, evaluate, positions

TINY = dict(
    episodes=120, hidden_units=16, batch_size=32, learning_starts=64, train_frequency=1,
    target_network_frequency=20, eval_every=60,
)


def weights(model):
    return [w.copy() for w in model.get_weights()]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def lost_lines(model):
    check = evaluate.quick_check(dqn.q_function(model))
    return check["X"]["lost_lines"] + check["O"]["lost_lines"]


@pytest.fixture(scope="module")
def tiny_run():
    return dqn.train(dqn.DQNConfig(seed=7, **TINY))


def test_linear_schedule():
    assert dqn.linear_schedule(1.0, 0.1, 10, 0) == 1.0
    assert dqn.linear_schedule(1.0, 0.1, 10, 5) == pytest.approx(0.55)
    assert dqn.linear_schedule(1.0, 0.1, 10, 50) == pytest.approx(0.1)


def test_negamax_target_is_the_reward_or_the_opponents_best_value_negated():
    batch = {
        "reward": np.array([1.0, 0.0, 0.0], dtype=np.float32),
        "done": np.array([True, True, False]),
        "next_legal": np.array([[False] * 9, [False] * 9, [True, True] + [False] * 7]),
    }
    next_q = np.zeros((3, 9), dtype=np.float32)
    next_q[2, :3] = [0.5, -0.2, 9.0]  # cell 2 is illegal: its value is ignored
    assert dqn.negamax_targets(batch, next_q, 0.9).tolist() == pytest.approx([1.0, 0.0, -0.45])


def test_two_step_target_is_the_replys_outcome_or_the_movers_own_best_value():
    batch = {
        "reward": np.array([1.0, 0.0, 0.0], dtype=np.float32),
        "done": np.array([True, False, False]),
        "reply_reward": np.array([0.0, -1.0, 0.0], dtype=np.float32),
        "reply_done": np.array([True, True, False]),
        "after_reply_legal": np.array([[False] * 9, [False] * 9, [False, True, True] + [False] * 6]),
    }
    after_q = np.zeros((3, 9), dtype=np.float32)
    after_q[2, :3] = [5.0, 0.2, 0.4]  # cell 0 is illegal
    assert dqn.two_step_targets(batch, after_q, 0.5).tolist() == pytest.approx([1.0, -0.5, 0.1])


def test_a_tiny_run_records_its_evaluations_and_keeps_the_best(tiny_run):
    assert [c.episode for c in tiny_run.history] == [60, 120]
    assert tiny_run.steps > 0 and tiny_run.seconds > 0 and tiny_run.transitions > 120 * 5
    best = max(tiny_run.history, key=lambda c: c.rank())
    assert tiny_run.selected_episode == best.episode
    assert lost_lines(tiny_run.model) == best.lost_lines_x + best.lost_lines_o


def test_each_evaluation_is_said_and_recorded_at_its_episode():
    said, recorded, episodes = [], [], []
    hooks = TrainHooks(log_epoch=lambda epoch, metrics, stage=None: recorded.append((epoch, metrics)))
    hooks.say = said.append
    config = dqn.DQNConfig(seed=7, **(TINY | {"episodes": 60, "eval_every": 30}))
    dqn.train(config, hooks, on_episode=lambda episode, values: episodes.append(episode))
    assert [epoch for epoch, _ in recorded] == [30, 60]
    assert set(recorded[-1][1]) == {"lost_lines_x", "lost_lines_o", "win_x", "win_o", "epsilon", "loss"}
    assert said[-1].startswith("episode     60: lost lines X") and episodes == list(range(1, 61))


def test_training_is_deterministic_for_a_seed(tiny_run):
    again = dqn.train(dqn.DQNConfig(seed=7, **TINY))
    other = dqn.train(dqn.DQNConfig(seed=8, **TINY))
    assert same(weights(again.model), weights(tiny_run.model))
    assert not same(weights(other.model), weights(tiny_run.model))


def test_a_stopped_run_resumes_to_the_same_result(tiny_run, tmp_path):
    class Stop(Exception):
        pass

    def stop_at_first_evaluation(epoch, metrics, stage=None):
        raise Stop  # the state is saved before the evaluation is recorded

    with pytest.raises(Stop):
        dqn.train(dqn.DQNConfig(seed=7, **TINY), TrainHooks(resume_dir=tmp_path, log_epoch=stop_at_first_evaluation))
    resumed = dqn.train(dqn.DQNConfig(seed=7, **TINY), TrainHooks(resume_dir=tmp_path))
    assert [c.episode for c in resumed.history] == [60, 120]
    assert [c.lost_lines_o for c in resumed.history] == [c.lost_lines_o for c in tiny_run.history]
    assert same(weights(resumed.model), weights(tiny_run.model))


@pytest.mark.parametrize("opponent", ["random", "minimax", "mix"])
def test_each_opponent_trains(opponent):
    config = dqn.DQNConfig(seed=2, opponent=opponent, **(TINY | {"episodes": 60}))
    assert [c.episode for c in dqn.train(config).history] == [60]


def test_self_play_never_calls_the_solver(monkeypatch):
    def no_solver(board):
        raise AssertionError("the model-free DQN called the minimax solver")

    monkeypatch.setattr(engine, "minimax_value", no_solver)
    positions.position_table.cache_clear()  # a table built now would need the solver
    try:
        result = dqn.train(dqn.DQNConfig(seed=5, opponent="self", **TINY))
    finally:
        positions.position_table.cache_clear()
    assert len(result.history) == 2
    with pytest.raises(AssertionError, match="solver"):
        engine.best_moves("X........")  # the replacement was in force


def test_a_short_self_play_run_learns_to_stop_losing_lines():
    config = dqn.DQNConfig(
        seed=3, episodes=400, hidden_units=64, learning_starts=300, target_network_frequency=100, eval_every=200,
    )
    untrained = lost_lines(dqn.build_q_network(config.hidden_units))
    trained = dqn.train(config)
    assert lost_lines(trained.model) * 10 < untrained
    assert max(c.win_x for c in trained.history) > 0.9
