"""The WebSocket at /ws/tictactoe/: validate each frame, call the service (tictactoe/service.py), answer.

Client -> server: {"type": "new", "first": "human"|"ai"}, {"type": "move", "cell": 0-8},
{"type": "resume", "game": "<uuid>"}. Server -> client: {"type": "state", ...} (see
service.GameState) or {"type": "error", "code": ..., "message": ...}. New games are capped per
minute per session and per client address (error "too_many_games"). After an error the
connection stays open, except for an oversized frame or a flood: error, then close. With the
database unreachable a move gets an "unavailable" error (nothing changed) and a new connection
gets that error and then a close (4503).
"""

import json
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

from asgiref.sync import SyncToAsync
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from deepboot_site.ratelimit import scope_client_address

from . import service

MAX_MESSAGE_BYTES = 4096
FLOOD_MESSAGES = 20  # more than this many messages ...
FLOOD_SECONDS = 1.0  # ... within this window is a flood
# Private-use codes, 4000 + the standard ones: 4009 "message too big", 4008 "policy violation"
# (the flood). Daphne, the site's server before Uvicorn, let an application close only with 1000
# or 3000-4999 (1009 became 1011), and clients rely on these codes since.
CLOSE_TOO_BIG = 4009
CLOSE_POLICY = 4008
CLOSE_UNAVAILABLE = 4503  # the database is unreachable (HTTP would say 503)
DATABASE_DOWN = (OperationalError, InterfaceError)
STORE_DOWN_MESSAGE = "Games cannot be stored right now (the database is unavailable). Your game is saved; try again in a moment."


GAME_THREADS = ThreadPoolExecutor(settings.DEEPBOOT_GAME_DB_THREADS, thread_name_prefix="games")


class GameDatabaseCall(SyncToAsync):
    """Run a game's database call on GAME_THREADS (DEEPBOOT_GAME_DB_THREADS of them), not on
    Channels' `database_sync_to_async` thread, which is one per process and would queue every move
    behind every other database call of the worker.

    thread_sensitive=False is safe here: each call is self-contained (its own transaction, opened
    and closed inside it; nothing thread-local is carried from one call to the next), and the
    consumer awaits one call at a time per connection, so a game's moves still run in order.

    Its connections: like Channels, the connection is closed after a call that left it unusable or
    out of its autocommit state. Otherwise a pooled connection (PostgreSQL) goes back to the pool
    after every call; one without a pool (SQLite, or DEEPBOOT_DB_POOL=0) stays open for this
    thread's next call instead of being opened and closed per move (CONN_MAX_AGE=0 would): these
    threads are few and live as long as the worker, unlike the threads requests run in."""

    def __init__(self, function):
        super().__init__(function, thread_sensitive=False, executor=GAME_THREADS)

    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                if getattr(connection, "pool", None) is None:
                    connection.close_at = None  # no maximum age for this thread's own connection
                connection.close_if_unusable_or_obsolete()


def session_owner(session):
    """The session key that owns this connection's games; a fresh session if there is none."""
    if session is None:
        session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.get("tictactoe")  # loads it: an expired or unknown key is dropped here
    if not session.session_key:
        session["tictactoe"] = True
        session.save()
    return session.session_key


class GameConsumer(AsyncWebsocketConsumer):
    # A game needs no channel layer (no groups, no pushes from elsewhere). Without one, games go on
    # when Redis is down while REDIS_URL is set; with it, the consumer would die with the layer's
    # receive loop (close 1011). An alias that is not configured gives no layer.
    channel_layer_alias = None

    async def dispatch(self, message):
        """Channels' dispatch without its `aclose_old_connections()` before every frame: that is a
        hop to Channels' own database thread and back for each move (about a tenth of the event
        loop's time and a fifth of another thread's, at 100 games). That thread holds no
        connection of the games': their database work runs on GAME_THREADS, which look after
        their own (GameDatabaseCall), and the session middleware saves nothing over a WebSocket."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.game_id = None
        self.state = None  # the last GameState sent: lets a move skip reading its game (service.play)
        self.arrivals = deque()
        self.closing = False
        # Accept first: the session lookup waits its turn for a database thread, and with hundreds
        # of sockets opening at once that wait outlasted the server's 5 s handshake timeout (Daphne's, then).
        # Frames that arrive meanwhile are handled after this method returns.
        await self.accept()
        try:
            self.owner = await GameDatabaseCall(session_owner)(self.scope.get("session"))
        except DATABASE_DOWN:
            # Say why; the page reconnects (with backoff) by itself.
            await self.refuse("unavailable", STORE_DOWN_MESSAGE, CLOSE_UNAVAILABLE)

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        size = len(text_data.encode("utf-8")) if text_data is not None else len(bytes_data or b"")
        if size > MAX_MESSAGE_BYTES:
            await self.refuse("too_large", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.", CLOSE_TOO_BIG)
            return
        if self.flooding():
            await self.refuse("flood", f"More than {FLOOD_MESSAGES} messages a second.", CLOSE_POLICY)
            return
        if text_data is None:
            await self.send_error("bad_json", "Send JSON text frames.")
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: nesting deeper than the parser's stack ("[[[[...]]]]" fits in 4 KB).
            await self.send_error("bad_json", "That frame is not valid JSON (or is nested too deeply).")
            return
        if not isinstance(message, dict):
            await self.send_error("bad_json", "A message is a JSON object with a \"type\".")
            return
        handler = {"new": self.on_new, "move": self.on_move, "resume": self.on_resume}.get(
            message.get("type") if isinstance(message.get("type"), str) else None
        )
        if handler is None:
            await self.send_error("unknown_type", 'The "type" must be "new", "move" or "resume".')
            return
        try:
            outcome = await handler(message)
        except service.GameError as error:
            await self.send_error(error.code, error.message)
            return
        except DATABASE_DOWN:
            # The move's transaction rolled back: nothing changed; the same move can be sent again.
            await self.send_error("unavailable", STORE_DOWN_MESSAGE)
            return
        self.game_id, self.state = outcome.state.game, outcome.state
        await self.send(text_data=json.dumps(outcome.state.to_message()))
        if outcome.warning is not None:
            await self.send_error(outcome.warning.code, outcome.warning.message)

    async def on_new(self, message):
        first = message.get("first")
        if first not in ("human", "ai"):
            raise service.GameError("bad_request", '"first" must be "human" or "ai".')
        # Capped per session and per client address: cookie-less sockets each get a session.
        return await GameDatabaseCall(service.start_game)(self.owner, scope_client_address(self.scope), first)

    async def on_move(self, message):
        cell = message.get("cell")
        if not isinstance(cell, int) or isinstance(cell, bool) or not 0 <= cell <= 8:
            raise service.GameError("out_of_range", '"cell" must be an integer from 0 to 8.')
        return await GameDatabaseCall(service.play)(self.owner, self.game_id, cell, self.state)

    async def on_resume(self, message):
        game_id = message.get("game")
        if not isinstance(game_id, str):
            raise service.GameError("bad_request", '"game" must be the id of a game (a UUID string).')
        return await GameDatabaseCall(service.resume)(self.owner, game_id)

    def flooding(self):
        now = time.monotonic()
        self.arrivals.append(now)
        while self.arrivals and now - self.arrivals[0] > FLOOD_SECONDS:
            self.arrivals.popleft()
        return len(self.arrivals) > FLOOD_MESSAGES

    async def send_error(self, code, message):
        await self.send(text_data=json.dumps({"type": "error", "code": code, "message": message}))

    async def refuse(self, code, message, close_code):
        self.closing = True
        await self.send_error(code, message)
        await self.close(code=close_code)
