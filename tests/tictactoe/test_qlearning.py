"""Tabular Q-learning: the table, its symmetry sharing, saving, and short seeded runs."""

import numpy as np
import pytest

from tictactoe import engine, evaluate, qlearning

SHORT = qlearning.QLearningConfig(seed=2, episodes=3000, eval_every=1500)


@pytest.fixture(scope="module")
def short_run():
    return qlearning.train(SHORT)


def test_symmetric_positions_share_one_entry():
    table = qlearning.QTable()
    table.update("X........", 4, 1.0, alpha=0.5)  # O takes the centre after X in a corner
    assert table.q_values("X........")[4] == 0.5
    for perm in engine.SYMMETRIES:
        image = engine.transform("X........", perm)
        assert table.q_values(image)[engine.transform_cell(4, perm)] == 0.5
    assert len(table.values) == 1


def test_the_update_moves_towards_the_target():
    table = qlearning.QTable()
    for _ in range(50):
        table.update(engine.EMPTY_BOARD, 0, 1.0, alpha=0.2)
    assert table.q_values(engine.EMPTY_BOARD)[0] == pytest.approx(1.0, abs=1e-4)
    assert table.choose(engine.EMPTY_BOARD) == 0


def test_save_and_load_round_trip(short_run, tmp_path):
    path = short_run.table.save(tmp_path / "q" / "qtable.json")
    loaded = qlearning.QTable.load(path)
    boards = ["X...O....", ".........", "XO.XO...."]
    assert np.allclose(loaded.q_function(boards), short_run.table.q_function(boards), atol=1e-6)


def test_a_file_that_is_not_a_table_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError):
        qlearning.QTable.load(path)


def test_runs_are_deterministic_per_seed(short_run):
    again = qlearning.train(SHORT)
    assert again.table.values.keys() == short_run.table.values.keys()
    assert all(np.array_equal(again.table.values[k], v) for k, v in short_run.table.values.items())
    other = qlearning.train(qlearning.QLearningConfig(seed=3, episodes=300, eval_every=300))
    assert other.table.values.keys() != short_run.table.values.keys()


def test_a_short_run_learns_to_beat_a_random_player(short_run):
    assert [c.episode for c in short_run.history] == [1500, 3000]
    policy = evaluate.policy_table(short_run.table.q_function)
    # A random player wins 58.5% as X and 28.8% as O against random.
    assert evaluate.exact_vs_random(policy, "X")["win"] > 0.75
    assert evaluate.exact_vs_random(policy, "O")["win"] > 0.45
