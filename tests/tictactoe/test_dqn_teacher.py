"""dqn-teacher: the network fitted to the teacher's targets, in tiny runs (deterministic per seed)."""

import numpy as np
import pytest

from deepboot.hooks import TrainHooks
from tictactoe import dqn_teacher, networks
from tictactoe.positions import position_table

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
    return dqn_teacher.train(dqn_teacher.TeacherConfig(seed=7, **TINY))


def test_a_tiny_run_records_its_evaluations(tiny_run):
    assert [c.episode for c in tiny_run.history] == [60, 120]
    assert tiny_run.steps > 0 and tiny_run.seconds > 0
    assert tiny_run.model.output_shape == (None, 9)


def test_training_is_deterministic_for_a_seed(tiny_run):
    again = dqn_teacher.train(dqn_teacher.TeacherConfig(seed=7, **TINY))
    other = dqn_teacher.train(dqn_teacher.TeacherConfig(seed=8, **TINY))
    assert same(weights(again.model), weights(tiny_run.model))
    assert not same(weights(other.model), weights(tiny_run.model))


def test_a_stopped_run_resumes_to_the_same_result(tiny_run, tmp_path):
    class Stop(Exception):
        pass

    def stop_at_first_evaluation(epoch, metrics, stage=None):
        raise Stop  # the state is saved before the evaluation is recorded

    with pytest.raises(Stop):
        dqn_teacher.train(dqn_teacher.TeacherConfig(seed=7, **TINY), TrainHooks(resume_dir=tmp_path, log_epoch=stop_at_first_evaluation))
    resumed = dqn_teacher.train(dqn_teacher.TeacherConfig(seed=7, **TINY), TrainHooks(resume_dir=tmp_path))
    assert [c.episode for c in resumed.history] == [60, 120]
    assert same(weights(resumed.model), weights(tiny_run.model))


def test_a_short_run_learns_to_defend_and_to_win():
    from tictactoe import evaluate

    config = dqn_teacher.TeacherConfig(
        seed=3, episodes=300, hidden_units=64, batch_size=64, learning_starts=16, train_frequency=2,
        target_network_frequency=50, eval_every=300, learning_rate=3e-3,
    )
    table = position_table()
    untrained = networks.build_q_network(config.hidden_units)
    trained = dqn_teacher.train(config).model

    def figures(model):
        q = networks.q_values_of(model, table.features)
        greedy = np.where(table.legal, q, -np.inf).argmax(axis=1)
        to_move = table.legal.any(axis=1)
        safe_share = float((~table.unsafe[np.arange(table.size), greedy])[to_move].mean())
        check = evaluate.quick_check(lambda boards: networks.q_values_of(model, table.features[table.ids(boards)]))
        return safe_share, check["X"]["lost_lines"] + check["O"]["lost_lines"], check["X"]["win"]

    safe_before, lost_before, win_before = figures(untrained)
    safe_after, lost_after, win_after = figures(trained)
    assert safe_after > 0.7 > safe_before
    assert lost_after * 10 < lost_before
    assert win_after > 0.85 > win_before
