"""Service: the active tic-tac-toe agent (loaded once per process through tictactoe/agent.py) and
the games between a browser session and it, stored as they happen. The consumer and the page call
this module; `evaluate_tictactoe --arch` loads the agents the site does not serve through it.

Game calls are synchronous (the consumer runs them on its database threads), one transaction each,
with as few statements as the move allows: the human's move and the agent's reply are stored
together, so a dropped connection or a restart loses nothing and `resume` continues where the game
stood. The rules are the engine's; this module adds ownership, turns and storage.
"""

import uuid
from dataclasses import asdict, dataclass
from typing import Optional

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deepboot_site import ratelimit
from registry import registry

from . import engine, store
from .agent import LOADERS, Agent
from .models import Game, Move

TASK = "tictactoe"
ARCHITECTURE = "dqn"


@dataclass(frozen=True)
class ActiveAgent:
    model_id: int
    architecture: str
    agent: Agent

    @classmethod
    def of(cls, loaded, architecture=ARCHITECTURE):
        """From the registry's LoadedModel of the slot."""
        return cls(model_id=loaded.record.pk, architecture=architecture, agent=loaded.model)


def active_agent(architecture=ARCHITECTURE) -> ActiveAgent:
    """The slot's active agent (cached per process); raises registry.ModelUnavailable."""
    return ActiveAgent.of(registry.load_active(TASK, architecture, loader=LOADERS[architecture]), architecture)


def agent_to_evaluate(architecture=ARCHITECTURE) -> ActiveAgent:
    """The slot's active agent; for an architecture the site does not serve, with none active, the
    newest one registered (they are registered inactive). Raises registry.ModelUnavailable."""
    from registry.models import TrainedModel

    if architecture == ARCHITECTURE or registry.active_record(TASK, architecture) is not None:
        return active_agent(architecture)
    record = TrainedModel.objects.filter(task=TASK, architecture=architecture).order_by("-id").first()
    if record is None:
        raise registry.ModelUnavailable(
            f"No {TASK} model '{architecture}' is registered. Run: python manage.py train_tictactoe --algo {architecture}"
        )
    path = registry.absolute_path(record.path)
    try:
        loaded = LOADERS[architecture](path)
    except (OSError, ValueError, KeyError) as exc:
        raise registry.ModelUnavailable(f"Model #{record.pk} ({path.name}) could not be loaded ({exc.__class__.__name__}).") from exc
    return ActiveAgent(model_id=record.pk, architecture=architecture, agent=loaded)


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


def _state(game, ai_move=None, active=None):
    q_values = None
    if active is not None and game.turn == "human":
        q_values = active.agent.q_values(game.board)
    line = engine.winner_and_line(game.board)[1]
    return GameState(game=str(game.id), board=game.board, you=game.human_mark, status=game.status, turn=game.turn,
                     ai_move=ai_move, q_values=q_values, winning_line=list(line) if line else None)


def _ai_reply(game, active):
    """The agent's move, applied in memory: (cell, its Move row)."""
    cell, q_values = active.agent.choose(game.board)
    game.agent_id = active.model_id
    return cell, game.apply(Game.Player.AI, cell, q_values)


def _store(game, moves):
    """Two statements: the game's row (read earlier in this transaction) and its new Move rows."""
    game.save(update_fields=["board", "status", "agent", "updated"])
    Move.objects.bulk_create(moves)


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
            raise GameError("too_many_games",
                            f"Too many new games: at most {per_minute} a minute per {who}. Try again in {retry_after} s.")


def prune(older_than):
    """Delete games (finished or abandoned) last played before now - `older_than` (a timedelta),
    their moves with them. -> (games, moves) deleted."""
    stale = Game.objects.filter(updated__lt=timezone.now() - older_than)
    moves = Move.objects.filter(game__in=stale).count()
    games = stale.count()
    stale.delete()
    return games, moves


def start_game(owner, address, first):
    """A new game as the consumer asks for one, in one call of its database thread: the creation
    caps first (outside the game's transaction; their counts may be in Redis), then `new_game`."""
    check_creation_rate(owner, address)
    return new_game(owner, first)


@transaction.atomic
def new_game(owner, first):
    """Start a game; with first="ai" the agent's opening move is already played (stored with it)."""
    try:
        active = active_agent()
    except registry.ModelUnavailable as exc:
        raise _unavailable(exc) from None
    game = Game(owner=owner, x_player=Game.Player.HUMAN if first == "human" else Game.Player.AI,
                agent_id=active.model_id)
    ai_move, move = _ai_reply(game, active) if first == "ai" else (None, None)
    game.save(force_insert=True)
    Move.objects.bulk_create([move] if move else [])
    return Outcome(_state(game, ai_move, active))


@transaction.atomic
def resume(owner, game_id):
    """The game where it stands; if the agent owes a move (it was unavailable), it plays it now."""
    game = _owned_game(owner, game_id)
    try:
        active = active_agent()
    except registry.ModelUnavailable as exc:
        return Outcome(_state(game), _unavailable(exc) if game.turn == "ai" else None)
    if game.turn != "ai":
        return Outcome(_state(game, None, active))
    ai_move, move = _ai_reply(game, active)
    _store(game, [move])
    return Outcome(_state(game, ai_move, active))


def _as_seen(owner, game_id, known):
    """The game as this connection was last sent it (`known`, a GameState), in memory; None where
    that is another game or not the human's turn."""
    if known is None or known.game != str(game_id) or known.turn != "human":
        return None
    return Game(id=uuid.UUID(known.game), owner=owner, board=known.board, status=known.status,
                x_player=Game.Player.HUMAN if known.you == "X" else Game.Player.AI)


@transaction.atomic
def play(owner, game_id, cell, known=None):
    """The human plays `cell` in their game; the agent replies in the same transaction.

    `known`, the GameState this connection was last sent for this game, spares reading the game,
    and the agent this process has loaded spares asking which model is active: the move and the
    reply are written with one UPDATE that applies only while the stored board is still
    `known.board` (the game this owner's and playing) and the replying model still the active one,
    then one INSERT of both Move rows (tictactoe/store.py: their SQL is written once, not built by
    the ORM on every move). The database stays the judge: where that UPDATE matches nothing
    (another tab played, the game is gone, another model was activated) or `known` does not allow
    the move, the game is read and locked, the active model asked for, and the move checked as before."""
    if game_id is None:
        raise GameError("no_game", 'Start a game first: {"type": "new", "first": "human"}.')
    game = _as_seen(owner, game_id, known)
    loaded = registry.loaded(TASK, ARCHITECTURE)
    if game is not None and game.board[cell] == "." and loaded is not None:
        outcome, moves = _play_on(game, cell, lambda: ActiveAgent.of(loaded))
        if store.update_if_unchanged(game, owner, known.board):
            store.insert_moves(moves)
            return outcome
    game = _owned_game(owner, game_id)
    if game.status != Game.Status.PLAYING:
        raise GameError("game_over", f"This game is over ({game.status}). Start a new one.")
    if game.turn != "human":
        raise GameError("not_your_turn", "It is the AI's turn; resume the game to let it move.")
    if game.board[cell] != ".":
        raise GameError("occupied", f"Cell {cell} is taken.")
    outcome, moves = _play_on(game, cell)
    _store(game, moves)
    return outcome


def _play_on(game, cell, replying=active_agent):
    """The human's move and the agent's reply applied to `game` in memory: (Outcome, Move rows).
    `replying()` gives the ActiveAgent that replies (raises registry.ModelUnavailable)."""
    moves = [game.apply(Game.Player.HUMAN, cell)]
    if game.status != Game.Status.PLAYING:
        return Outcome(_state(game)), moves
    try:
        active = replying()
    except registry.ModelUnavailable as exc:
        return Outcome(_state(game), _unavailable(exc)), moves
    ai_move, move = _ai_reply(game, active)
    moves.append(move)
    return Outcome(_state(game, ai_move, active)), moves


def score(owner):
    """{"human_won": n, "ai_won": n, "draw": n}: finished games of this session."""
    counts = {Game.Status.HUMAN_WON: 0, Game.Status.AI_WON: 0, Game.Status.DRAW: 0}
    for status in Game.objects.filter(owner=owner).exclude(status=Game.Status.PLAYING).values_list("status", flat=True):
        counts[status] += 1
    return {str(k): v for k, v in counts.items()}
