"""Load on 127.0.0.1, bounded in time: 200 WebSocket games open at once and played to the end
while a stream of classification uploads goes on, twice. Every game finishes and is stored with
its moves, every upload is answered 200, no error frame, and the server's memory stays flat.

Selected with `-m load`; it is part of `make test`. Figures go to BENCHMARKS.md, not asserts."""

import asyncio
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import conftest as harness
from tests.image_corpus import jpeg
from tests.security.game_rules import check_frame, check_stored_games
from tests.memory import rss_kib
from tests.security.servers import post_files, site_server

pytestmark = [pytest.mark.load, pytest.mark.timeout(600)]

GAMES = 200
UPLOADS = 40
ROUND_SECONDS = 240  # a round that takes longer fails: the test is bounded in time


async def play(base, index, rng):
    """One game on its own connection, opened with the others; random legal moves to the end."""
    from websockets.asyncio.client import connect

    first = "human" if index % 2 else "ai"
    async with connect(base.replace("http://", "ws://") + "/ws/tictactoe/", origin=base, open_timeout=60) as socket:
        await socket.send(json.dumps({"type": "new", "first": first}))
        moves = 0
        while True:
            state = check_frame(await asyncio.wait_for(socket.recv(), 120))
            assert state["type"] == "state", f"game {index}: {state}"
            if state["status"] != "playing":
                return {"game": state["game"], "board": state["board"], "status": state["status"], "moves": moves}
            assert state["turn"] == "human"
            cell = rng.choice([c for c, mark in enumerate(state["board"]) if mark == "."])
            await socket.send(json.dumps({"type": "move", "cell": cell}))
            moves += 1
            await asyncio.sleep(0.06)  # a quick human: under the 20 messages a second flood limit


def upload_stream(base, count):
    """`count` classification uploads, two at a time; their statuses."""
    image = jpeg((320, 240))

    def one(_):
        return post_files(base + "/api/classify/", [("image", "photo.jpg", image)], timeout=120)[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(count)))


async def load_round(base, games, uploads, seed):
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    stream = loop.run_in_executor(None, upload_stream, base, uploads)
    results = await asyncio.gather(*(play(base, i, random.Random(rng.random())) for i in range(games)))
    return results, await stream


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_games_and_an_upload_stream_all_complete_with_flat_memory(active_models):
    from tictactoe.models import Game

    with site_server(DATABASE_URL=harness.test_database_url()) as (base, process):
        # Warm up: models loaded, code paths and allocator pools used once.
        results, statuses = asyncio.run(asyncio.wait_for(load_round(base, 5, 2, seed=0), ROUND_SECONDS))
        assert statuses == [200] * 2
        rss = [rss_kib(process.pid) / 1024]
        report = []
        for round_number in (1, 2):
            started = time.monotonic()
            results, statuses = asyncio.run(
                asyncio.wait_for(load_round(base, GAMES, UPLOADS, seed=round_number), ROUND_SECONDS)
            )
            seconds = time.monotonic() - started
            rss.append(rss_kib(process.pid) / 1024)
            assert statuses == [200] * UPLOADS, "every upload answered"
            assert len(results) == GAMES and all(r["status"] != "playing" for r in results), "every game finished"

            stored = {str(g.id): g for g in Game.objects.filter(id__in=[r["game"] for r in results])}
            assert len(stored) == GAMES, "no game lost"
            for result in results:
                game = stored[result["game"]]
                assert (game.board, game.status) == (result["board"], result["status"])
                assert game.moves.filter(player="human").count() == result["moves"]
            check_stored_games(stored.values())
            moves = sum(r["moves"] for r in results)
            report.append(f"round {round_number}: {GAMES} games ({moves} human moves) + {UPLOADS} uploads in {seconds:.1f} s")
    print("\n".join(report))
    print("server RSS (MB) after warm-up, round 1, round 2:", [round(m) for m in rss])
    assert rss[2] - rss[1] < 40, f"memory not flat: {rss[1]:.0f} MB after round 1, {rss[2]:.0f} MB after round 2"
    assert rss[2] - rss[0] < 150, f"memory grew from {rss[0]:.0f} MB to {rss[2]:.0f} MB"
