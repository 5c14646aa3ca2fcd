"""The board encoding and the table of positions behind the DQN's targets."""

import numpy as np

from tictactoe import engine, evaluate
from tictactoe.positions import encode, greedy_move, legal_mask, position_table


def test_encoding_is_from_the_side_to_move():
    x_to_move, o_to_move = encode(["XO.......", "X........"])
    assert list(x_to_move[:9]) == [1, 0, 0, 0, 0, 0, 0, 0, 0]  # X's own marks
    assert list(x_to_move[9:]) == [0, 1, 0, 0, 0, 0, 0, 0, 0]
    assert list(o_to_move[:9]) == [0] * 9  # O has no marks yet
    assert list(o_to_move[9:]) == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert encode(["X" * 0 + "........."]).dtype == np.float32


def test_legal_mask_and_greedy_move():
    assert legal_mask(["XO.......", "XXXOO...."]).tolist() == [
        [False, False] + [True] * 7,
        [False] * 9,
    ]
    q = np.array([9, 9, 1, 3, 3, 0, 0, 0, 0], dtype=float)
    assert greedy_move(q, "XO.......") == 3  # best legal; ties go to the lowest cell


def test_table_covers_every_position_and_its_symmetries():
    table = position_table()
    assert table.size == 5478
    for i in range(0, table.size, 97):
        board = table.boards[i]
        for s, perm in enumerate(engine.SYMMETRIES):
            assert table.boards[table.symmetric_ids[i, s]] == engine.transform(board, perm)
            assert table.symmetric_cells[s].tolist() == [engine.transform_cell(c, perm) for c in range(9)]


def test_after_moves_and_replies_follow_the_rules():
    table = position_table()
    i = table.index["XX.OO...."]  # X to move
    assert table.after_reward[i, 2] == 1.0  # X wins at 2
    assert table.unsafe[i].tolist() == [engine.move_values("XX.OO....").get(c, 0) < 0 for c in range(9)]
    assert table.reply_count[i, 5] == 4  # after X at 5 ("XX.OOX..."), O has 4 replies
    replies = [table.boards[j] for j in table.reply_ids[i, 5, :4]]
    assert replies == ["XXOOOX...", "XX.OOXO..", "XX.OOX.O.", "XX.OOX..O"]
    assert table.reply_ids[i, 5, 4:].tolist() == [-1] * 4
    assert np.isnan(table.after_reward[i, 5])
    j = table.index["XX..O...."]  # O to move; at 3 it lets X win at 2
    assert table.boards[table.reply_ids[j, 3, 0]] == "XXXOO...."
    assert table.reply_reward[j, 3, 0] == -1.0  # X's reply at 2 ends the game: a loss
    assert np.isnan(table.reply_reward[j, 3, 1])  # X at 5 does not


def test_bellman_targets_by_value_iteration_give_the_strongest_safe_player(perfect_q):
    policy = evaluate.policy_table(perfect_q)
    limits = evaluate.limit_win_rates()
    for side in "XO":
        assert evaluate.exhaustive(policy, side).loss == 0
        assert abs(evaluate.exact_vs_random(policy, side)["win"] - limits[side]) < 1e-9


def test_unsafe_moves_are_valued_below_every_safe_move(perfect_q):
    table = position_table()
    q = perfect_q(table.boards)
    safe_min = np.where(table.legal & ~table.unsafe, q, np.inf).min()
    unsafe_max = np.where(table.legal & table.unsafe, q, -np.inf).max()
    assert safe_min >= -1.0 and unsafe_max <= -1.0
