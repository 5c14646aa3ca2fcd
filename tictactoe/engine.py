"""The game, pure Python (no Django, no Keras).

A board is a string of nine characters, row-major, each "X", "O" or "." (empty); X moves first,
so whose turn it is follows from the board. Cells are numbered

    0 1 2
    3 4 5
    6 7 8

The perfect player is a memoised negamax over the whole game tree (5,478 legal positions).
"""

from functools import lru_cache

EMPTY_BOARD = "." * 9
MARKS = ("X", "O")
LINES = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8),  # rows
    (0, 3, 6), (1, 4, 7), (2, 5, 8),  # columns
    (0, 4, 8), (2, 4, 6),  # diagonals
)

# The eight symmetries of the square as cell permutations: new_board[i] = board[perm[i]].
_ROTATE = (6, 3, 0, 7, 4, 1, 8, 5, 2)  # a quarter turn clockwise
_MIRROR = (2, 1, 0, 5, 4, 3, 8, 7, 6)  # left-right


def _compose(first, then):
    """The permutation that applies `first`, then `then`."""
    return tuple(first[then[i]] for i in range(9))


def _all_symmetries():
    identity = tuple(range(9))
    rotations = [identity]
    for _ in range(3):
        rotations.append(_compose(rotations[-1], _ROTATE))
    return tuple(rotations + [_compose(r, _MIRROR) for r in rotations])


SYMMETRIES = _all_symmetries()


class IllegalMove(ValueError):
    """A move to an occupied or out-of-range cell, or after the game ended."""


def validate_board(board):
    """Raise ValueError unless `board` is a reachable-shaped board string (counts and characters)."""
    if not isinstance(board, str) or len(board) != 9 or set(board) - {"X", "O", "."}:
        raise ValueError(f"a board is nine characters of X, O and '.', not {board!r}")
    x, o = board.count("X"), board.count("O")
    if x - o not in (0, 1):
        raise ValueError(f"X moves first, so X has as many marks as O or one more: {board!r}")


def to_move(board):
    """The mark whose turn it is ("X" or "O"), whatever the game state."""
    return "X" if board.count("X") == board.count("O") else "O"


def other(mark):
    return "O" if mark == "X" else "X"


def winner_and_line(board):
    """(mark, line) of the first completed line, or (None, None)."""
    for line in LINES:
        a, b, c = line
        if board[a] != "." and board[a] == board[b] == board[c]:
            return board[a], line
    return None, None


def winner(board):
    return winner_and_line(board)[0]


def is_draw(board):
    return "." not in board and winner(board) is None


def is_over(board):
    return winner(board) is not None or "." not in board


def legal_moves(board):
    """Empty cells, in order; none once the game is over."""
    if is_over(board):
        return []
    return [i for i, c in enumerate(board) if c == "."]


def play(board, cell):
    """The board after the side to move plays `cell`; raises IllegalMove."""
    if not isinstance(cell, int) or isinstance(cell, bool) or not 0 <= cell <= 8:
        raise IllegalMove(f"cell must be an integer 0-8, not {cell!r}")
    if is_over(board):
        raise IllegalMove("the game is over")
    if board[cell] != ".":
        raise IllegalMove(f"cell {cell} is taken")
    return board[:cell] + to_move(board) + board[cell + 1:]


def transform(board, perm):
    """A board seen through a symmetry (see SYMMETRIES)."""
    return "".join(board[perm[i]] for i in range(9))


def transform_cell(cell, perm):
    """Where `cell` goes under the symmetry `perm`: transform(b, p)[transform_cell(c, p)] == b[c]."""
    return perm.index(cell)


def symmetries(board):
    """The eight images of a board (with repeats where the board is symmetric)."""
    return [transform(board, perm) for perm in SYMMETRIES]


@lru_cache(maxsize=None)
def minimax_value(board):
    """The game-theoretic value for the side to move: +1 win, 0 draw, -1 loss (perfect play)."""
    if winner(board) is not None:
        return -1  # the side that just moved completed a line
    if "." not in board:
        return 0
    return max(-minimax_value(play(board, m)) for m in legal_moves(board))


def move_values(board):
    """{cell: value for the side to move after playing it} for every legal move."""
    return {m: -minimax_value(play(board, m)) for m in legal_moves(board)}


def best_moves(board):
    """The moves that keep the game-theoretic value (a perfect player picks among these)."""
    values = move_values(board)
    best = max(values.values())
    return [m for m, v in values.items() if v == best]


def safe_moves(board):
    """The moves after which a perfect opponent still cannot force a win (value >= 0);
    every legal move where the position is already lost."""
    values = move_values(board)
    safe = [m for m, v in values.items() if v >= 0]
    return safe or list(values)


def all_positions():
    """Every legal position reachable from the empty board (5,478 boards), in BFS order."""
    seen = {EMPTY_BOARD}
    frontier = [EMPTY_BOARD]
    order = [EMPTY_BOARD]
    while frontier:
        following = []
        for board in frontier:
            for m in legal_moves(board):
                nxt = play(board, m)
                if nxt not in seen:
                    seen.add(nxt)
                    order.append(nxt)
                    following.append(nxt)
        frontier = following
    return order
