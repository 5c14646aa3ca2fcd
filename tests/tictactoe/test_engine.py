"""The engine, checked over the whole game tree (it is small)."""

import pytest

from tictactoe import engine


def every_game():
    """Yield every finished game (the final board) reachable from the empty board."""
    stack = [engine.EMPTY_BOARD]
    while stack:
        board = stack.pop()
        if engine.is_over(board):
            yield board
        else:
            stack.extend(engine.play(board, m) for m in engine.legal_moves(board))


def brute_winner(board):
    wins = {board[a] for a, b, c in engine.LINES if board[a] != "." and board[a] == board[b] == board[c]}
    assert len(wins) <= 1, board
    return wins.pop() if wins else None


def test_the_game_tree_has_the_known_counts_of_games_and_results():
    counts = {"X": 0, "O": 0, None: 0}
    for board in every_game():
        counts[engine.winner(board)] += 1
    assert sum(counts.values()) == 255_168
    assert counts == {"X": 131_184, "O": 77_904, None: 46_080}


def test_there_are_5478_legal_positions_and_765_up_to_symmetry():
    positions = engine.all_positions()
    assert len(positions) == len(set(positions)) == 5478
    assert len({min(engine.symmetries(b)) for b in positions}) == 765


def test_winner_line_legal_moves_and_draw_agree_with_brute_force_everywhere():
    for board in engine.all_positions():
        mark, line = engine.winner_and_line(board)
        assert mark == brute_winner(board)
        if mark:
            assert all(board[i] == mark for i in line) and line in engine.LINES
        assert engine.is_draw(board) == ("." not in board and mark is None)
        assert engine.is_over(board) == (mark is not None or "." not in board)
        expected = [] if engine.is_over(board) else [i for i, c in enumerate(board) if c == "."]
        assert engine.legal_moves(board) == expected


def test_turns_alternate_with_x_first():
    assert engine.to_move(engine.EMPTY_BOARD) == "X"
    for board in engine.all_positions():
        for move in engine.legal_moves(board):
            after = engine.play(board, move)
            assert after[move] == engine.to_move(board)
            assert engine.to_move(after) == engine.other(engine.to_move(board))


@pytest.mark.parametrize("cell", [-1, 9, 4.0, "4", None, True])
def test_out_of_range_or_non_integer_cells_are_illegal(cell):
    with pytest.raises(engine.IllegalMove):
        engine.play(engine.EMPTY_BOARD, cell)


def test_occupied_cells_and_moves_after_the_end_are_illegal():
    with pytest.raises(engine.IllegalMove):
        engine.play("X........", 0)
    with pytest.raises(engine.IllegalMove):
        engine.play("XXXOO....", 5)  # X has won


def test_validate_board_rejects_bad_shapes_and_counts():
    engine.validate_board("X...O....")
    for bad in ("X...O...", "X...O....X", "XX.......", "O........", "x........", 5):
        with pytest.raises(ValueError):
            engine.validate_board(bad)


def test_the_eight_symmetries_form_the_group_of_the_square():
    perms = set(engine.SYMMETRIES)
    assert len(perms) == 8
    for p in perms:
        for q in perms:
            composed = tuple(p[q[i]] for i in range(9))
            assert composed in perms
    assert tuple(range(9)) in perms


def test_symmetries_preserve_the_rules_and_the_minimax_value():
    for board in engine.all_positions():
        for perm in engine.SYMMETRIES:
            image = engine.transform(board, perm)
            assert engine.winner(image) == engine.winner(board)
            assert engine.minimax_value(image) == engine.minimax_value(board)
            moved = [engine.transform_cell(c, perm) for c in engine.legal_moves(board)]
            assert sorted(moved) == engine.legal_moves(image)
            for c in range(9):
                assert image[engine.transform_cell(c, perm)] == board[c]


def test_minimax_values_follow_negamax_over_every_position():
    assert engine.minimax_value(engine.EMPTY_BOARD) == 0
    for board in engine.all_positions():
        value = engine.minimax_value(board)
        if engine.winner(board):
            assert value == -1  # the side to move has lost
        elif "." not in board:
            assert value == 0
        else:
            assert value == max(-engine.minimax_value(engine.play(board, m)) for m in engine.legal_moves(board))


def test_best_and_safe_moves():
    assert engine.minimax_value("XX.OO....") == 1  # X to move wins at 2
    assert engine.best_moves("XX.OO....") == [2]
    # O to move must block at 2; every other move loses.
    assert engine.safe_moves("XX..O....") == [2]
    # Against X in opposite corners O must take an edge: a corner loses to a fork.
    assert engine.safe_moves("X...O...X") == [1, 3, 5, 7]
    # A lost position: every move is as bad, so every move is "safe".
    assert engine.minimax_value("XX.O.....") == -1
    assert engine.safe_moves("XX.O.....") == engine.legal_moves("XX.O.....")
    for board in engine.all_positions():
        if engine.is_over(board):
            continue
        best, safe = set(engine.best_moves(board)), set(engine.safe_moves(board))
        assert best <= safe <= set(engine.legal_moves(board))


def lines_against_everything(mark):
    """Results of the perfect player (any of its best moves) against every opponent line."""
    results = set()
    stack = [engine.EMPTY_BOARD]
    while stack:
        board = stack.pop()
        if engine.is_over(board):
            results.add(engine.winner(board))
        elif engine.to_move(board) == mark:
            stack.extend(engine.play(board, m) for m in engine.best_moves(board))
        else:
            stack.extend(engine.play(board, m) for m in engine.legal_moves(board))
    return results


@pytest.mark.parametrize("mark", ["X", "O"])
def test_the_minimax_player_never_loses_a_line(mark):
    assert engine.other(mark) not in lines_against_everything(mark)
