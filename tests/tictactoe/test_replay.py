"""The DQN's replay memory (what a transition stores) and its symmetry augmentation."""

import numpy as np

from tictactoe import engine, replay
from tictactoe.positions import encode


def test_a_transition_stores_the_reward_and_what_follows():
    memory = replay.ReplayMemory(4)
    memory.add("XX.OO....", 2, "XXXOO....")  # X completes the top row
    memory.add("XX.OO....", 8, "XX.OO...X")
    assert memory.reward.tolist()[:2] == [1.0, 0.0] and memory.done.tolist()[:2] == [True, False]
    assert not memory.next_legal[0].any() and memory.next_legal[1].tolist() == [c == "." for c in "XX.OO...X"]
    assert np.array_equal(memory.next_state[1], encode(["XX.OO...X"])[0])  # from O's side, O to move


def test_the_reply_played_is_recorded_with_the_transition_it_answers():
    memory = replay.ReplayMemory(4)
    first = memory.add("XX.OO....", 8, "XX.OO...X")
    memory.add_reply(first, "XX.OOO..X")  # O completes the middle row
    assert memory.reply_done[first] and memory.reply_reward[first] == -1.0
    second = memory.add("X........", 4, "X...O....")
    memory.add_reply(second, "XX..O....")
    assert not memory.reply_done[second] and memory.reply_reward[second] == 0.0
    assert np.array_equal(memory.after_reply[second], encode(["XX..O...."])[0])  # O to move again


def test_a_symmetric_transition_is_the_same_move_on_the_turned_board():
    memory = replay.ReplayMemory(1)
    memory.add_reply(memory.add("XO.......", 5, "XO...X..."), "XO..OX...")  # no symmetry maps these onto themselves
    feature_perm, cell_map = replay.symmetry_tables()
    rng = np.random.default_rng(0)
    for _ in range(8):
        seen = replay.augment(memory.sample(rng, 1), rng, feature_perm, cell_map)
        k = next(k for k, p in enumerate(engine.SYMMETRIES)
                 if np.array_equal(seen["state"][0], encode([engine.transform("XO.......", p)])[0]))
        turned = engine.transform("XO...X...", engine.SYMMETRIES[k])
        assert np.array_equal(seen["next_state"][0], encode([turned])[0])
        assert engine.play(engine.transform("XO.......", engine.SYMMETRIES[k]), int(seen["action"][0])) == turned
        assert seen["next_legal"][0].tolist() == [c == "." for c in turned]
        after = engine.transform("XO..OX...", engine.SYMMETRIES[k])
        assert np.array_equal(seen["after_reply"][0], encode([after])[0])
        assert seen["after_reply_legal"][0].tolist() == [c == "." for c in after]
