"""Several workers serving one site through DATABASE_URL (PostgreSQL) and REDIS_URL:
a tic-tac-toe game started through one worker goes on through another, and killing a worker
loses nothing."""

import json
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT, free_port, server_env, start_server, stop_process
from tests.deepboot_site.scaled import fresh_postgres_url, own_redis_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def manage(env, *args):
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def session_cookie(base_url):
    with urllib.request.urlopen(base_url + "/tictactoe/", timeout=60) as response:
        cookies = response.headers.get_all("Set-Cookie") or []
    for cookie in cookies:
        if cookie.startswith("sessionid="):
            return cookie.split(";", 1)[0]
    raise AssertionError(f"/tictactoe/ set no session cookie: {cookies}")


class Player:
    """One browser: its session cookie, talking to whichever worker it is sent to."""

    def __init__(self, cookie):
        self.cookie = cookie

    def connect(self, port):
        from websockets.sync.client import connect

        headers = {"Cookie": self.cookie, "Origin": f"http://127.0.0.1:{port}"}
        return connect(f"ws://127.0.0.1:{port}/ws/tictactoe/", additional_headers=headers, open_timeout=30)

    @staticmethod
    def ask(socket, message):
        socket.send(json.dumps(message))
        reply = json.loads(socket.recv(timeout=60))
        assert reply["type"] == "state", reply
        return reply

    def move(self, socket, state):
        return self.ask(socket, {"type": "move", "cell": state["board"].index(".")})


def test_a_game_goes_on_through_another_worker_and_a_killed_worker_loses_nothing(
    fresh_postgres_url, own_redis_url, tmp_path  # noqa: F811
):
    import psycopg
    from websockets.exceptions import ConnectionClosed

    env = server_env(
        DATABASE_URL=fresh_postgres_url, REDIS_URL=own_redis_url, DEEPBOOT_VAR=tmp_path / "var",
        DJANGO_SETTINGS_MODULE="deepboot_site.settings",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    # The agent the app ships (what `bootstrap` installs), brought in the way a model trained
    # elsewhere reaches a web host.
    manage(env, "import_model", str(ROOT / "tictactoe" / "pretrained" / "dqn.keras"), "--task", "tictactoe", "--arch", "dqn", "--activate")
    port1, port2 = free_port(), free_port()
    worker1 = start_server(port1, env, tmp_path / "worker1.log")
    worker2 = start_server(port2, env, tmp_path / "worker2.log")
    try:
        player = Player(session_cookie(f"http://127.0.0.1:{port1}"))
        with player.connect(port1) as socket:
            started = player.ask(socket, {"type": "new", "first": "human"})
            first = player.move(socket, started)
        game = started["game"]
        assert first["status"] == "playing" and first["ai_move"] is not None and first["board"].count(".") == 7

        with player.connect(port2) as socket:
            resumed = player.ask(socket, {"type": "resume", "game": game})
            assert resumed["board"] == first["board"] and resumed["turn"] == "human"
            second = player.move(socket, resumed)
        assert second["board"].count(".") == 5

        socket = player.connect(port1)
        assert player.ask(socket, {"type": "resume", "game": game})["board"] == second["board"]
        third = player.move(socket, second)
        worker1.kill()  # SIGKILL: no shutdown, no goodbye
        worker1.wait(timeout=10)
        with pytest.raises((ConnectionClosed, OSError, TimeoutError)):
            socket.send(json.dumps({"type": "resume", "game": game}))
            socket.recv(timeout=10)
        socket.close()

        with player.connect(port2) as socket:
            state = player.ask(socket, {"type": "resume", "game": game})
            assert state["board"] == third["board"] and state["status"] == third["status"], "nothing lost"
            while state["status"] == "playing":
                state = player.move(socket, state)
        assert state["status"] in ("human_won", "ai_won", "draw")
    finally:
        stop_process(worker2)
        if worker1.poll() is None:
            stop_process(worker1)

    with psycopg.connect(fresh_postgres_url) as connection:
        board, status = connection.execute("SELECT board, status FROM tictactoe_game WHERE id = %s", [game]).fetchone()
        moves = connection.execute(
            "SELECT number, cell FROM tictactoe_move WHERE game_id = %s ORDER BY number", [game]
        ).fetchall()
    assert (board, status) == (state["board"], state["status"])
    assert [number for number, _ in moves] == list(range(1, 10 - board.count(".")))
    assert all(board[cell] != "." for _, cell in moves)


IDLE_SCRIPT = """
import asyncio, time
import django; django.setup()
from channels.layers import get_channel_layer

async def main():
    layer = get_channel_layer()
    channel = await layer.new_channel()

    async def later():
        await asyncio.sleep(7)
        await layer.send(channel, {"type": "hello"})

    sender = asyncio.create_task(later())
    started = time.monotonic()
    message = await layer.receive(channel)
    await sender
    print("RECEIVED", message["type"], round(time.monotonic() - started))

asyncio.run(main())
"""


def test_the_redis_channel_layer_waits_longer_than_redis_py_default_read_timeout(own_redis_url, tmp_path):  # noqa: F811
    """A consumer idle for more than 5 s must keep its socket (redis-py 8 reads with a 5 s timeout)."""
    env = server_env(REDIS_URL=own_redis_url, DEEPBOOT_VAR=tmp_path, DJANGO_SETTINGS_MODULE="deepboot_site.settings")
    done = subprocess.run([sys.executable, "-c", IDLE_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["RECEIVED", "hello", "7"]


POOL_SCRIPT = """
import threading
import django; django.setup()
from django.db import connection

def query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.3)")
    connection.close()  # back to the pool

threads = [threading.Thread(target=query) for _ in range(12)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("DONE")
"""


@pytest.mark.parametrize("pool, bounded", [("1", True), ("0", False)])
def test_a_worker_borrows_database_connections_from_a_bounded_pool(fresh_postgres_url, tmp_path, pool, bounded):  # noqa: F811
    """Twelve threads at once (as the server runs requests) hold at most DEEPBOOT_DB_POOL_SIZE connections."""
    import threading
    import time

    import psycopg

    name = fresh_postgres_url.rsplit("/", 1)[1]
    env = server_env(DATABASE_URL=fresh_postgres_url, DEEPBOOT_VAR=tmp_path, DEEPBOOT_DB_POOL=pool,
                     DEEPBOOT_DB_POOL_SIZE="3", DJANGO_SETTINGS_MODULE="deepboot_site.settings")
    seen, stop = [], threading.Event()

    def watch():
        with psycopg.connect(fresh_postgres_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            while not stop.is_set():
                seen.append(admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0])
                time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = subprocess.run([sys.executable, "-c", POOL_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0 and "DONE" in done.stdout, done.stderr[-3000:]
    # With the pool (the default) never more than its size; without it, one connection per thread.
    assert (1 <= max(seen) <= 3) if bounded else max(seen) > 3
