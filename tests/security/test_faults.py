"""Faults caused on purpose against a real server: the database briefly gone, Redis gone while
REDIS_URL is set, a model file missing or corrupt. The affected feature answers a clear 503, the
rest keeps working, and it all recovers by itself once the fault is gone."""

import asyncio
import json
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import conftest as harness
from tests.image_corpus import jpeg
from tests.security.conftest import CLASS_NAMES, DETECTION_CLASSES
from tests.security.proxy import TCPProxy
from tests.security.servers import (
    fresh_postgres_database,
    json_body,
    post_files,
    register_models,
    request,
    site_server,
    wait_clear_of_the_hour_boundary,
    wait_until,
    with_database,
    with_port,
)

APIS = ["/api/classify/", "/api/detect/"]

# ---------------------------------------------------------------------------------------------
# The database


@pytest.fixture
def database_behind_a_proxy(postgres_url, classifier_file, detector_file, dqn_file):
    """(DATABASE_URL through a proxy the test can stop, the proxy, the direct URL), on a fresh
    PostgreSQL database with a model in each slot."""
    with fresh_postgres_database(postgres_url) as url:
        register_models(url, [
            dict(task="classification", architecture="cnn9", path=classifier_file, class_names=CLASS_NAMES, layers=9),
            dict(task="detection", architecture="tiny", path=detector_file, class_names=DETECTION_CLASSES, layers=6),
            dict(task="tictactoe", architecture="dqn", path=dqn_file, layers=3),
        ])
        parsed = urlparse(url)
        with TCPProxy(parsed.hostname, parsed.port or 5432) as proxy:
            yield with_port(url, proxy.port), proxy, url


def stylesheet_url(base, home_html):
    return base + re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home_html).group(1)


def upload(base, api, timeout=10):
    return post_files(base + api, [("image", "a.jpg", jpeg())], timeout=timeout)


def game_socket(base):
    from websockets.sync.client import connect

    return connect(base.replace("http://", "ws://") + "/ws/tictactoe/", origin=base, open_timeout=10)


def answer(socket, timeout=30):
    return json.loads(socket.recv(timeout=timeout))


def stored_game(direct_url, game_id):
    """(board, status, [(number, cell)]) straight from PostgreSQL."""
    import psycopg

    with psycopg.connect(direct_url.replace("postgres://", "postgresql://", 1)) as connection:
        board, status = connection.execute("SELECT board, status FROM tictactoe_game WHERE id = %s", [game_id]).fetchone()
        moves = connection.execute(
            "SELECT number, cell FROM tictactoe_move WHERE game_id = %s ORDER BY number", [game_id]
        ).fetchall()
    return board, status, moves


# With the pool, each request during the outage waits DEEPBOOT_DB_POOL_TIMEOUT (3 s by default) for
# a connection before its 503; 1 s here, so the four such waits do not make this the slowest test.
@pytest.mark.parametrize(
    "connections",
    [{"DEEPBOOT_DB_POOL_TIMEOUT": "1"}, {"DEEPBOOT_DB_POOL": "0", "DJANGO_CONN_MAX_AGE": "60"}],
    ids=["connection-pool", "persistent-connections"],
)
def test_database_outage_gives_503_where_needed_keeps_the_rest_and_recovers(database_behind_a_proxy, connections):
    from websockets.exceptions import ConnectionClosed

    database_url, proxy, direct_url = database_behind_a_proxy
    with site_server(DATABASE_URL=database_url, **connections) as (base, _):
        status, _, home = request(base + "/")
        assert status == 200
        css = stylesheet_url(base, home.decode())
        assert request(base + "/models/")[0] == 200
        for api in APIS:
            assert upload(base, api, timeout=120)[0] == 200
        game = game_socket(base)
        game.send(json.dumps({"type": "new", "first": "human"}))
        state = answer(game, timeout=120)
        assert state["type"] == "state"

        proxy.stop()  # the database goes away, open connections included
        status, headers, body = request(base + "/models/")
        assert status == 503, body[:500]
        assert "Temporarily unavailable" in body.decode() and headers["Retry-After"] == "5"
        assert "Traceback" not in body.decode() and "psycopg" not in body.decode()
        status, _, body = request(base + "/models/", headers={"Accept": "application/json"})
        assert status == 503 and "unavailable" in json_body(body)["error"]
        for api in APIS:
            status, _, body = upload(base, api, timeout=120)
            assert status == 503 and "unavailable" in json_body(body)["error"], (api, body[:300])
        # A game in progress is told, and nothing is lost; a new connection is told, then closed.
        game.send(json.dumps({"type": "move", "cell": 4}))
        refused = answer(game)
        assert refused["type"] == "error" and refused["code"] == "unavailable"
        with game_socket(base) as newcomer:
            assert answer(newcomer)["code"] == "unavailable"
            with pytest.raises(ConnectionClosed):
                newcomer.recv(timeout=10)
            assert newcomer.close_code == 4503
        # What needs no database keeps working.
        assert request(base + "/")[0] == 200
        assert request(css)[0] == 200

        proxy.start()  # back on the same address: no restart of the server
        # A connection pool retries on its own schedule: allow it a few seconds.
        assert wait_until(lambda: request(base + "/models/")[0] == 200, timeout=20, interval=0.5)
        for api in APIS:
            assert upload(base, api)[0] == 200
        game.send(json.dumps({"type": "move", "cell": 4}))  # the same move again, on the same socket
        resumed = answer(game)
        assert resumed["type"] == "state" and resumed["game"] == state["game"] and resumed["board"][4] == resumed["you"]
        game.close()
        board, _, moves = stored_game(direct_url, state["game"])
        assert board == resumed["board"] and [cell for _, cell in moves][0] == 4
        assert [number for number, _ in moves] == list(range(1, len(moves) + 1))


# ---------------------------------------------------------------------------------------------
# Redis (the cache and the channel layer) while REDIS_URL is set


@pytest.fixture
def redis_behind_a_proxy(redis_url):
    """(REDIS_URL through a proxy the test can stop, the proxy). Database 13, not the shared 0."""
    parsed = urlparse(redis_url)
    with TCPProxy(parsed.hostname, parsed.port or 6379) as proxy:
        yield with_database(with_port(redis_url, proxy.port), "13"), proxy


def staff_cookie():
    """The session cookie of a logged-in staff member, for a real server on the test database."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_user("ops", password="a-long-ops-password", is_staff=True)
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def play_one_game(base, timeout=60):
    """A whole game over the real socket (the human takes the first free cell); the final state."""
    from websockets.asyncio.client import connect

    async with connect(base.replace("http://", "ws://") + "/ws/tictactoe/", origin=base, open_timeout=10) as socket:
        await socket.send(json.dumps({"type": "new", "first": "human"}))
        while True:
            state = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            assert state["type"] == "state", state
            if state["status"] != "playing":
                return state
            await socket.send(json.dumps({"type": "move", "cell": state["board"].index(".")}))


async def run_socket_opens(base, pk, cookie):
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    try:
        async with connect(
            base.replace("http://", "ws://") + f"/ws/runs/{pk}/",
            origin=base,
            additional_headers={"Cookie": cookie},
            open_timeout=10,
        ) as socket:
            await socket.send("{}")  # the consumer answers an error frame: the socket is alive
            return json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "error"
    except (OSError, asyncio.TimeoutError, WebSocketException):  # refused or dropped: not open
        return False


@pytest.mark.django_db(transaction=True)
def test_redis_outage_keeps_pages_apis_and_games_up_and_recovers(redis_behind_a_proxy, active_models):
    """Redis carries the API rate counts and the live run events. Without it the APIs still answer
    (not counted, a warning is logged), games go on, and only the live run socket is refused
    (its page polls instead); once Redis is back the counts and the socket work again."""
    from registry.models import TrainingRun

    redis_url, proxy = redis_behind_a_proxy
    cookie = staff_cookie()
    run = TrainingRun.objects.create(command="train_classifier", resume_key="r")
    client = {"X-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"}  # no count left from other runs
    env = dict(REDIS_URL=redis_url, DEEPBOOT_API_RATE="2/h", DEEPBOOT_TRUST_X_FORWARDED_FOR="1")
    wait_clear_of_the_hour_boundary(margin=90)
    with site_server(DATABASE_URL=harness.test_database_url(), **env) as (base, _):
        for api in APIS:
            statuses = [post_files(base + api, [("image", "a.jpg", jpeg())], headers=client, timeout=120)[0] for _ in range(3)]
            assert statuses == [200, 200, 429], "counted in Redis while it is up"
        assert asyncio.run(play_one_game(base))["status"] != "playing"
        assert asyncio.run(run_socket_opens(base, run.pk, cookie)), "live run events flow while Redis is up"

        proxy.stop()
        assert request(base + "/")[0] == 200
        assert request(base + "/models/")[0] == 200
        assert request(base + "/tictactoe/")[0] == 200
        for api in APIS:
            status, _, body = post_files(base + api, [("image", "a.jpg", jpeg())], headers=client, timeout=30)
            assert status == 200, ("the APIs answer, uncounted", api, body[:300])
        final = asyncio.run(play_one_game(base))
        assert final["status"] != "playing", "games need no Redis and keep being played"
        # The live run socket needs the channel layer: it is refused, and the page's fallback works.
        assert not asyncio.run(run_socket_opens(base, run.pk, cookie))
        status, _, body = request(base + f"/runs/{run.pk}.json", headers={"Cookie": cookie})
        assert status == 200 and json_body(body)["id"] == run.pk

        proxy.start()
        for api in APIS:
            assert post_files(base + api, [("image", "a.jpg", jpeg())], headers=client, timeout=30)[0] == 429, (
                "counting again as soon as Redis is back"
            )
        # Recovers without a restart; the channel layer may need a reconnect or two (a handshake
        # that waits on it may be cut short), so a browser retrying gets in within 30 s.
        assert wait_until(lambda: asyncio.run(run_socket_opens(base, run.pk, cookie)), timeout=30, interval=1)
        assert asyncio.run(play_one_game(base))["status"] != "playing"


# ---------------------------------------------------------------------------------------------
# A model file missing or corrupt


def broken_model_file(task, good_file, fault):
    """A path under var/models/ for `task` whose file is missing, garbage or cut in half."""
    from django.conf import settings

    path = Path(settings.MODELS_DIR) / task / "security-faults" / uuid.uuid4().hex / good_file.name
    path.parent.mkdir(parents=True)
    if fault == "corrupt":
        path.write_bytes(b"this is not a keras file\n" * 200)
    elif fault == "truncated":
        content = good_file.read_bytes()
        path.write_bytes(content[: len(content) // 2])
    return path


SLOTS = {
    "classification": ("cnn9", "/api/classify/", "/classify/", "classifier_file", CLASS_NAMES),
    "detection": ("tiny", "/api/detect/", "/detect/", "detector_file", DETECTION_CLASSES),
}


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["missing", "corrupt", "truncated"])
@pytest.mark.parametrize("task", sorted(SLOTS))
def test_a_broken_model_file_gives_503_keeps_the_rest_and_recovers_when_fixed(client, active_models, request, task, fault):
    from registry import registry

    architecture, api, page, file_fixture, class_names = SLOTS[task]
    good_file = request.getfixturevalue(file_fixture)
    path = broken_model_file(task, good_file, fault)
    registry.register(task, architecture, path, activate=True, class_names=class_names)

    response = client.post(api, {"image": SimpleUploadedFile("a.jpg", jpeg())})
    assert response.status_code == 503
    error = response.json()["error"]
    assert path.name in error and "Run: python manage.py" in error, error
    response = client.post(page, {"image": SimpleUploadedFile("a.jpg", jpeg())})
    assert response.status_code == 503 and "Run: python manage.py" in response.content.decode()
    # The rest keeps working: the other API, the game page, the Models page.
    other_api = next(slot[1] for name, slot in SLOTS.items() if name != task)
    assert client.post(other_api, {"image": SimpleUploadedFile("a.jpg", jpeg())}).status_code == 200
    assert client.get("/tictactoe/").status_code == 200
    assert client.get("/models/").status_code == 200

    shutil.copyfile(good_file, path)  # the fault is gone: the same file, now whole
    response = client.post(api, {"image": SimpleUploadedFile("a.jpg", jpeg())})
    assert response.status_code == 200, response.content[:300]


@pytest.mark.django_db(transaction=True)
def test_real_server_serves_again_once_a_corrupt_model_file_is_replaced(active_models, classifier_file):
    from registry import registry

    path = broken_model_file("classification", classifier_file, "corrupt")
    registry.register("classification", "cnn9", path, activate=True, class_names=CLASS_NAMES)
    with site_server(DATABASE_URL=harness.test_database_url()) as (base, _):
        status, _, body = upload(base, "/api/classify/", timeout=120)
        assert status == 503 and "Run: python manage.py" in json_body(body)["error"]
        assert upload(base, "/api/detect/", timeout=120)[0] == 200
        shutil.copyfile(classifier_file, path)
        status, _, body = upload(base, "/api/classify/", timeout=60)
        assert status == 200 and json_body(body)["predictions"]["cnn9"]
