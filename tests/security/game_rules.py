"""What a valid tic-tac-toe frame and a possible stored game look like, written here from the
rules and the protocol, independently of the app's engine, for the WebSocket and load tests."""

import json
import uuid

from tictactoe.models import Game, Move

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def completed_lines(board):
    return [line for line in LINES if board[line[0]] != "." and len({board[c] for c in line}) == 1]


def check_board(board):
    assert isinstance(board, str) and len(board) == 9 and set(board) <= {"X", "O", "."}, board
    assert board.count("X") - board.count("O") in (0, 1), f"impossible counts: {board}"
    winners = {board[line[0]] for line in completed_lines(board)}
    assert len(winners) <= 1, f"both players have a line: {board}"
    if winners == {"X"}:
        assert board.count("X") == board.count("O") + 1, f"X won but O moved after: {board}"
    if winners == {"O"}:
        assert board.count("X") == board.count("O"), f"O won but X moved after: {board}"


def expected_status(board, human_mark):
    lines = completed_lines(board)
    if lines:
        return "human_won" if board[lines[0][0]] == human_mark else "ai_won"
    return "draw" if "." not in board else "playing"


def check_frame(frame):
    """A frame the protocol allows: a state consistent with its board, or an error."""
    message = json.loads(frame)
    assert isinstance(message, dict), frame
    if message["type"] == "error":
        assert isinstance(message["code"], str) and message["code"]
        assert isinstance(message["message"], str) and message["message"]
        return message
    assert message["type"] == "state", frame
    board = message["board"]
    check_board(board)
    uuid.UUID(message["game"])
    assert message["you"] in ("X", "O")
    assert message["status"] == expected_status(board, message["you"]), frame
    if message["status"] == "playing":
        to_move = "X" if board.count("X") == board.count("O") else "O"
        assert message["turn"] == ("human" if to_move == message["you"] else "ai"), frame
    else:
        assert message["turn"] is None
    line = message["winning_line"]
    assert (line is not None) == bool(completed_lines(board))
    if line is not None:
        assert tuple(line) in completed_lines(board)
    if message["ai_move"] is not None:
        ai_mark = "O" if message["you"] == "X" else "X"
        assert board[message["ai_move"]] == ai_mark
    if message["q_values"] is not None:
        assert len(message["q_values"]) == 9
        assert all((q is None) == (board[c] != ".") for c, q in enumerate(message["q_values"]))
    return message


def check_stored_games(games=None):
    """Every stored game (or those given) is possible: board, status and winner agree, and its
    moves replay to it."""
    for game in Game.objects.all() if games is None else games:
        check_board(game.board)
        human = "X" if game.x_player == "human" else "O"
        assert game.status == expected_status(game.board, human), (game.board, game.status)
        board = ["."] * 9
        moves = list(Move.objects.filter(game=game).order_by("number"))
        for number, move in enumerate(moves, start=1):
            assert move.number == number, "moves are numbered 1, 2, 3 … without gaps"
            assert move.mark == ("X" if number % 2 else "O")
            assert move.player == ("human" if move.mark == human else "ai")
            assert board[move.cell] == ".", "a move into an occupied cell was stored"
            assert not completed_lines("".join(board)), "a move after the game was won was stored"
            board[move.cell] = move.mark
        assert "".join(board) == game.board, "the stored moves do not replay to the stored board"
