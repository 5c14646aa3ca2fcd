"""Games a client may start, through the real server: a cap per browser session and one per
client address (cookie-less sockets each get a fresh session), answered with a clear error frame
while the connection stays open."""

import asyncio
import json

import pytest

from tests import conftest as harness
from tests.security.game_rules import check_frame
from tests.security.servers import site_server

GAME_PATH = "/ws/tictactoe/"


async def start_game(websocket):
    await websocket.send(json.dumps({"type": "new", "first": "human"}))
    return json.loads(await asyncio.wait_for(websocket.recv(), 90))


@pytest.mark.django_db(transaction=True)
async def test_new_games_are_capped_per_session_and_per_address_with_an_error_frame(active_dqn):
    from websockets.asyncio.client import connect

    env = dict(DEEPBOOT_GAMES_PER_MINUTE="3", DEEPBOOT_GAMES_PER_MINUTE_PER_ADDRESS="5")
    with site_server(DATABASE_URL=harness.test_database_url(), **env) as (base, _):
        uri = base.replace("http://", "ws://") + GAME_PATH
        async with connect(uri, origin=base, open_timeout=30) as websocket:
            frames = [await start_game(websocket) for _ in range(4)]
            assert [frame["type"] for frame in frames] == ["state"] * 3 + ["error"]
            assert frames[3]["code"] == "too_many_games"
            assert "at most 3 a minute per browser session" in frames[3]["message"]
            # The connection stays open and the game in hand goes on.
            await websocket.send(json.dumps({"type": "move", "cell": next(
                cell for cell, mark in enumerate(frames[2]["board"]) if mark == "."
            )}))
            assert check_frame(await asyncio.wait_for(websocket.recv(), 30))["type"] == "state"
        # Cookie-less sockets: each a new session, all one address. 3 games were started above.
        answers = []
        for _ in range(3):
            async with connect(uri, origin=base, open_timeout=30) as websocket:
                answers.append(await start_game(websocket))
        assert [frame["type"] for frame in answers] == ["state", "state", "error"]
        assert answers[2]["code"] == "too_many_games" and "per client address" in answers[2]["message"]
