"""The model-free DQN: its network, loss, schedule, replay memory and negamax targets, and tiny
training runs (they learn, never call the solver, and are deterministic and resumable per seed)."""

import numpy as np
import pytest

from tictactoe import dqn, engine, evaluation, positions
from tictactoe.positions import encode

TINY = dict(
    episodes=120, hidden_units=16, batch_size=32, learning_starts=64, train_frequency=1,
    target_network_frequency=20, eval_every=60,
)


def weights(model):
    return [w.copy() for w in model.get_weights()]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def lost_lines(model):
    check = evaluation.quick_check(dqn.q_function(model))
    return check["X"]["lost_lines"] + check["O"]["lost_lines"]


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


def test_the_loss_is_huber_on_masked_moves_only():
    from keras import ops

    pred = np.zeros((1, 9), dtype=np.float32)
    targets = np.array([[0.5, 3.0, 0, 0, 0, 0, 0, 0, 100.0]], dtype=np.float32)
    mask = np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0]], dtype=np.float32)
    loss = float(ops.convert_to_numpy(dqn.legal_moves_huber(np.concatenate([targets, mask], 1), pred)))
    # cell 0: 0.5 * 0.5^2 = 0.125 (quadratic); cell 1: |3| - 0.5 = 2.5 (linear); cell 8 is masked.
    assert loss == pytest.approx((0.125 + 2.5) / 2)


def test_a_transition_stores_the_reward_and_what_follows():
    memory = dqn.ReplayMemory(4)
    memory.add("XX.OO....", 2, "XXXOO....")  # X completes the top row
    memory.add("XX.OO....", 8, "XX.OO...X")
    assert memory.reward.tolist()[:2] == [1.0, 0.0] and memory.done.tolist()[:2] == [True, False]
    assert not memory.next_legal[0].any() and memory.next_legal[1].tolist() == [c == "." for c in "XX.OO...X"]
    assert np.array_equal(memory.next_state[1], encode(["XX.OO...X"])[0])  # from O's side, O to move


def test_negamax_target_is_the_reward_or_the_opponents_best_value_negated():
    batch = {
        "reward": np.array([1.0, 0.0, 0.0], dtype=np.float32),
        "done": np.array([True, True, False]),
        "next_legal": np.array([[False] * 9, [False] * 9, [True, True] + [False] * 7]),
    }
    next_q = np.zeros((3, 9), dtype=np.float32)
    next_q[2, :3] = [0.5, -0.2, 9.0]  # cell 2 is illegal: its value is ignored
    assert dqn.negamax_targets(batch, next_q, 0.9).tolist() == pytest.approx([1.0, 0.0, -0.45])


def test_the_reply_played_is_recorded_with_the_transition_it_answers():
    memory = dqn.ReplayMemory(4)
    first = memory.add("XX.OO....", 8, "XX.OO...X")
    memory.add_reply(first, "XX.OOO..X")  # O completes the middle row
    assert memory.reply_done[first] and memory.reply_reward[first] == -1.0
    second = memory.add("X........", 4, "X...O....")
    memory.add_reply(second, "XX..O....")
    assert not memory.reply_done[second] and memory.reply_reward[second] == 0.0
    assert np.array_equal(memory.after_reply[second], encode(["XX..O...."])[0])  # O to move again


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


def test_a_symmetric_transition_is_the_same_move_on_the_turned_board():
    memory = dqn.ReplayMemory(1)
    memory.add_reply(memory.add("XO.......", 5, "XO...X..."), "XO..OX...")  # no symmetry maps these onto themselves
    feature_perm, cell_map = dqn.symmetry_tables()
    rng = np.random.default_rng(0)
    for _ in range(8):
        seen = dqn.augment(memory.sample(rng, 1), rng, feature_perm, cell_map)
        k = next(k for k, p in enumerate(engine.SYMMETRIES)
                 if np.array_equal(seen["state"][0], encode([engine.transform("XO.......", p)])[0]))
        turned = engine.transform("XO...X...", engine.SYMMETRIES[k])
        assert np.array_equal(seen["next_state"][0], encode([turned])[0])
        assert engine.play(engine.transform("XO.......", engine.SYMMETRIES[k]), int(seen["action"][0])) == turned
        assert seen["next_legal"][0].tolist() == [c == "." for c in turned]
        after = engine.transform("XO..OX...", engine.SYMMETRIES[k])
        assert np.array_equal(seen["after_reply"][0], encode([after])[0])
        assert seen["after_reply_legal"][0].tolist() == [c == "." for c in after]


def test_a_tiny_run_records_its_evaluations_and_keeps_the_best(tiny_run):
    assert [c.episode for c in tiny_run.history] == [60, 120]
    assert tiny_run.steps > 0 and tiny_run.seconds > 0 and tiny_run.transitions > 120 * 5
    best = max(tiny_run.history, key=lambda c: c.rank())
    assert tiny_run.selected_episode == best.episode
    assert lost_lines(tiny_run.model) == best.lost_lines_x + best.lost_lines_o


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


def test_save_and_load_round_trip(tiny_run, tmp_path):
    path = dqn.save(tiny_run.model, str(tmp_path / "agent" / "dqn.keras"))
    loaded = dqn.load(path)
    boards = ["X...O....", ".........", "XO.XO...."]
    assert np.allclose(dqn.q_function(loaded)(boards), dqn.q_function(tiny_run.model)(boards))
