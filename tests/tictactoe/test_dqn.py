"""The DQN: its network, loss and schedule, and tiny training runs (deterministic per seed)."""

import numpy as np
import pytest

from tictactoe import dqn
from tictactoe.positions import encode, position_table

TINY = dict(
    episodes=120, hidden_units=16, batch_size=32, learning_starts=16, train_frequency=1,
    target_network_frequency=20, eval_every=60,
)


def weights(model):
    return [w.copy() for w in model.get_weights()]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def tiny_run():
    return dqn.train(dqn.DQNConfig(seed=7, **TINY))


def test_linear_schedule():
    assert dqn.linear_schedule(1.0, 0.1, 10, 0) == 1.0
    assert dqn.linear_schedule(1.0, 0.1, 10, 5) == pytest.approx(0.55)
    assert dqn.linear_schedule(1.0, 0.1, 10, 50) == pytest.approx(0.1)


def test_the_network_maps_18_inputs_to_9_q_values():
    model = dqn.build_q_network(8)
    assert model.input_shape == (None, 18) and model.output_shape == (None, 9)
    assert model.count_params() == (18 * 8 + 8) + (8 * 8 + 8) + (8 * 9 + 9)
    assert dqn.q_values_of(model, encode(["X...O....", "........."])).shape == (2, 9)


def test_the_loss_is_huber_on_legal_moves_only():
    from keras import ops

    pred = np.zeros((1, 9), dtype=np.float32)
    targets = np.array([[0.5, 3.0, 0, 0, 0, 0, 0, 0, 100.0]], dtype=np.float32)
    mask = np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0]], dtype=np.float32)
    loss = float(ops.convert_to_numpy(dqn.legal_moves_huber(np.concatenate([targets, mask], 1), pred)))
    # cell 0: 0.5 * 0.5^2 = 0.125 (quadratic); cell 1: |3| - 0.5 = 2.5 (linear); cell 8 is masked.
    assert loss == pytest.approx((0.125 + 2.5) / 2)


def test_a_tiny_run_records_its_evaluations(tiny_run):
    assert [c.episode for c in tiny_run.history] == [60, 120]
    assert tiny_run.steps > 0 and tiny_run.seconds > 0
    assert tiny_run.model.output_shape == (None, 9)


def test_training_is_deterministic_for_a_seed(tiny_run):
    again = dqn.train(dqn.DQNConfig(seed=7, **TINY))
    other = dqn.train(dqn.DQNConfig(seed=8, **TINY))
    assert same(weights(again.model), weights(tiny_run.model))
    assert not same(weights(other.model), weights(tiny_run.model))


def test_a_stopped_run_resumes_to_the_same_result(tiny_run, tmp_path):
    class Stop(Exception):
        pass

    def stop_at_first_evaluation(checkpoint):
        raise Stop

    with pytest.raises(Stop):
        dqn.train(dqn.DQNConfig(seed=7, **TINY), resume_dir=tmp_path / "state", on_checkpoint=stop_at_first_evaluation)
    resumed = dqn.train(dqn.DQNConfig(seed=7, **TINY), resume_dir=tmp_path / "state")
    assert [c.episode for c in resumed.history] == [60, 120]
    assert same(weights(resumed.model), weights(tiny_run.model))


def test_a_short_run_learns_to_defend_and_to_win():
    from tictactoe import evaluation

    config = dqn.DQNConfig(
        seed=3, episodes=300, hidden_units=64, batch_size=64, learning_starts=16, train_frequency=2,
        target_network_frequency=50, eval_every=300, learning_rate=3e-3,
    )
    table = position_table()
    untrained = dqn.build_q_network(config.hidden_units)
    trained = dqn.train(config).model

    def figures(model):
        q = dqn.q_values_of(model, table.features)
        greedy = np.where(table.legal, q, -np.inf).argmax(axis=1)
        to_move = table.legal.any(axis=1)
        safe_share = float((~table.unsafe[np.arange(table.size), greedy])[to_move].mean())
        check = evaluation.quick_check(lambda boards: dqn.q_values_of(model, table.features[table.ids(boards)]))
        return safe_share, check["X"]["lost_lines"] + check["O"]["lost_lines"], check["X"]["win"]

    safe_before, lost_before, win_before = figures(untrained)
    safe_after, lost_after, win_after = figures(trained)
    assert safe_after > 0.7 > safe_before
    assert lost_after * 10 < lost_before
    assert win_after > 0.85 > win_before


def test_save_and_load_round_trip(tiny_run, tmp_path):
    path = dqn.save(tiny_run.model, str(tmp_path / "agent" / "dqn.keras"))
    loaded = dqn.load(path)
    boards = ["X...O....", ".........", "XO.XO...."]
    assert np.allclose(dqn.q_function(loaded)(boards), dqn.q_function(tiny_run.model)(boards))
