"""Faults caused on purpose against a real server: the database briefly gone, Redis gone while
REDIS_URL is set, a model file missing or corrupt. The affected feature answers a clear 503, the
rest keeps working, and it all recovers by itself once the fault is gone."""

import asyncio
import json
import re
from urllib.parse import urlparse

import pytest

from tests import conftest as harness
from tests.security.proxy import TCPProxy
from tests.security.servers import daphne, fresh_postgres_database, json_body, request, with_database, with_port

# ---------------------------------------------------------------------------------------------
# The database


@pytest.fixture
def database_behind_a_proxy(postgres_url):
    """(DATABASE_URL through a proxy the test can stop, the proxy)."""
    with fresh_postgres_database(postgres_url) as url:
        parsed = urlparse(url)
        with TCPProxy(parsed.hostname, parsed.port or 5432) as proxy:
            yield with_port(url, proxy.port), proxy


def stylesheet_url(base, home_html):
    return base + re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home_html).group(1)


@pytest.mark.parametrize("conn_max_age", [0, 60], ids=["new-connection-per-request", "persistent-connections"])
def test_database_outage_gives_503_where_needed_keeps_the_rest_and_recovers(database_behind_a_proxy, conn_max_age):
    database_url, proxy = database_behind_a_proxy
    with daphne(DATABASE_URL=database_url, DJANGO_CONN_MAX_AGE=conn_max_age) as (base, _):
        status, _, home = request(base + "/")
        assert status == 200
        css = stylesheet_url(base, home.decode())
        assert request(base + "/models/")[0] == 200

        proxy.stop()  # the database goes away, open connections included
        status, headers, body = request(base + "/models/")
        assert status == 503, body[:500]
        assert "Temporarily unavailable" in body.decode() and headers["Retry-After"] == "5"
        assert "Traceback" not in body.decode() and "psycopg" not in body.decode()
        status, _, body = request(base + "/models/", headers={"Accept": "application/json"})
        assert status == 503 and "unavailable" in json_body(body)["error"]
        # What needs no database keeps working.
        assert request(base + "/")[0] == 200
        assert request(css)[0] == 200

        proxy.start()  # back on the same address: no restart of the server
        status, _, body = request(base + "/models/")
        assert status == 200, body[:500]
        assert request(base + "/models/")[0] == 200


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
def test_redis_outage_keeps_pages_apis_and_games_up_and_recovers(redis_behind_a_proxy, active_dqn):
    from deepboot_site.models import TrainingRun

    redis_url, proxy = redis_behind_a_proxy
    cookie = staff_cookie()
    run = TrainingRun.objects.create(command="train_classifier", resume_key="r")
    with daphne(DATABASE_URL=harness.test_database_url(), REDIS_URL=redis_url) as (base, _):
        assert asyncio.run(play_one_game(base))["status"] != "playing"
        assert asyncio.run(run_socket_opens(base, run.pk, cookie)), "live run events flow while Redis is up"

        proxy.stop()
        assert request(base + "/")[0] == 200
        assert request(base + "/models/")[0] == 200
        assert request(base + "/tictactoe/")[0] == 200
        final = asyncio.run(play_one_game(base))
        assert final["status"] != "playing", "games need no Redis and keep being played"
        # The live run socket needs the channel layer: it is refused, and the page's fallback works.
        assert not asyncio.run(run_socket_opens(base, run.pk, cookie))
        status, _, body = request(base + f"/runs/{run.pk}.json", headers={"Cookie": cookie})
        assert status == 200 and json_body(body)["id"] == run.pk

        proxy.start()
        assert asyncio.run(run_socket_opens(base, run.pk, cookie)), "recovers without a restart"
        assert asyncio.run(play_one_game(base))["status"] != "playing"
