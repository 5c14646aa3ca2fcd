"""Service: games between a browser session and the active agent, stored as they happen.

Synchronous (the consumer calls it through `database_sync_to_async`). Each call is one
transaction: the human's move and the agent's reply are stored together, so a dropped connection
or a restart loses nothing and `resume` continues where the game stood. The rules are the
engine's; this module adds ownership, turns and storage.
"""

import uuid
from dataclasses import asdict, dataclass
from typing import Optional

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deepboot_site import ratelimit
from registry import registry

from . import agent as agents
from . import engine
from .models import Game, Move


class GameError(Exception):
    """A request the protocol refuses; `code` goes to the client as the error code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class GameState:
    """What the client is told after every new game, resume and accepted move."""

    game: str
    board: str
    you: str
    status: str
    turn: Optional[str]
    ai_move: Optional[int]
    q_values: Optional[list]
    winning_line: Optional[list]

    def to_message(self):
        return {"type": "state", **asdict(self)}


@dataclass(frozen=True)
class Outcome:
    state: GameState
    warning: Optional[GameError] = None  # sent after the state (the agent could not reply)


def status_of(board, human_mark):
    mark = engine.winner(board)
    if mark is not None:
        return Game.Status.HUMAN_WON if mark == human_mark else Game.Status.AI_WON
    if "." not in board:
        return Game.Status.DRAW
    return Game.Status.PLAYING


def turn_of(game):
    if game.status != Game.Status.PLAYING:
        return None
    return "human" if engine.to_move(game.board) == game.human_mark else "ai"


def _state(game, ai_move=None, active=None):
    q_values = None
    if active is not None and turn_of(game) == "human":
        q_values = active.agent.q_values(game.board)
    line = engine.winner_and_line(game.board)[1]
    return GameState(
        game=str(game.id),
        board=game.board,
        you=game.human_mark,
        status=game.status,
        turn=turn_of(game),
        ai_move=ai_move,
        q_values=q_values,
        winning_line=list(line) if line else None,
    )


def _record(game, player, cell, q_values=None):
    """Apply and store one move (the board, the status and a Move row)."""
    number = 10 - game.board.count(".")
    mark = engine.to_move(game.board)
    game.board = engine.play(game.board, cell)
    game.status = status_of(game.board, game.human_mark)
    game.save(update_fields=["board", "status", "agent", "updated"])
    Move.objects.create(game=game, number=number, player=player, mark=mark, cell=cell, q_values=q_values)


def _ai_reply(game, active):
    cell, q_values = active.agent.choose(game.board)
    game.agent_id = active.model_id
    _record(game, Game.Player.AI, cell, q_values)
    return cell


def _unavailable(exc):
    return GameError("ai_unavailable", str(exc))


def _owned_game(owner, game_id):
    """The game, locked for this transaction, if it exists and belongs to `owner`."""
    try:
        key = uuid.UUID(str(game_id))
    except ValueError:
        raise GameError("not_found", "No game has that id.") from None
    game = Game.objects.select_for_update().filter(pk=key).first()
    if game is None:
        raise GameError("not_found", "No game has that id.")
    if game.owner != owner:
        raise GameError("forbidden", "That game belongs to another browser session.")
    return game


def check_creation_rate(owner, address):
    """Count a new game against its session's and its client address's caps per minute
    (DEEPBOOT_GAMES_PER_MINUTE, DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS); GameError "too_many_games"
    past either. Refused attempts count too."""
    caps = [
        ("games-session", owner, settings.DEEPBOOT_GAMES_PER_MINUTE, "browser session"),
        ("games-address", address, settings.DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS, "client address"),
    ]
    for scope, key, per_minute, who in caps:
        allowed, retry_after = ratelimit.hit(scope, key, f"{per_minute}/m")
        if not allowed:
            raise GameError(
                "too_many_games",
                f"Too many new games: at most {per_minute} a minute per {who}. Try again in {retry_after} s.",
            )


def prune(older_than):
    """Delete games (finished or abandoned) last played before now - `older_than` (a timedelta),
    their moves with them. -> (games, moves) deleted."""
    stale = Game.objects.filter(updated__lt=timezone.now() - older_than)
    moves = Move.objects.filter(game__in=stale).count()
    games = stale.count()
    stale.delete()
    return games, moves


@transaction.atomic
def new_game(owner, first):
    """Start a game; with first="ai" the agent's opening move is already played."""
    try:
        active = agents.active_agent()
    except registry.ModelUnavailable as exc:
        raise _unavailable(exc) from None
    game = Game.objects.create(
        owner=owner,
        x_player=Game.Player.HUMAN if first == "human" else Game.Player.AI,
        agent_id=active.model_id,
    )
    ai_move = _ai_reply(game, active) if first == "ai" else None
    return Outcome(_state(game, ai_move, active))


@transaction.atomic
def resume(owner, game_id):
    """The game where it stands; if the agent owes a move (it was unavailable), it plays it now."""
    game = _owned_game(owner, game_id)
    try:
        active = agents.active_agent()
    except registry.ModelUnavailable as exc:
        return Outcome(_state(game), _unavailable(exc) if turn_of(game) == "ai" else None)
    ai_move = _ai_reply(game, active) if turn_of(game) == "ai" else None
    return Outcome(_state(game, ai_move, active))


@transaction.atomic
def play(owner, game_id, cell):
    """The human plays `cell` in their game; the agent replies in the same transaction."""
    if game_id is None:
        raise GameError("no_game", 'Start a game first: {"type": "new", "first": "human"}.')
    game = _owned_game(owner, game_id)
    if game.status != Game.Status.PLAYING:
        raise GameError("game_over", f"This game is over ({game.status}). Start a new one.")
    if turn_of(game) != "human":
        raise GameError("not_your_turn", "It is the AI's turn; resume the game to let it move.")
    if game.board[cell] != ".":
        raise GameError("occupied", f"Cell {cell} is taken.")
    _record(game, Game.Player.HUMAN, cell)
    if game.status != Game.Status.PLAYING:
        return Outcome(_state(game))
    try:
        active = agents.active_agent()
    except registry.ModelUnavailable as exc:
        return Outcome(_state(game), _unavailable(exc))
    ai_move = _ai_reply(game, active)
    return Outcome(_state(game, ai_move, active))


def score(owner):
    """{"human_won": n, "ai_won": n, "draw": n}: finished games of this session."""
    counts = {Game.Status.HUMAN_WON: 0, Game.Status.AI_WON: 0, Game.Status.DRAW: 0}
    for status in Game.objects.filter(owner=owner).exclude(status=Game.Status.PLAYING).values_list(
        "status", flat=True
    ):
        counts[status] += 1
    return {str(k): v for k, v in counts.items()}
