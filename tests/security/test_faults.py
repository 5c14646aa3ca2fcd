"""Faults caused on purpose against a real server: the database briefly gone, Redis gone while
REDIS_URL is set, a model file missing or corrupt. The affected feature answers a clear 503, the
rest keeps working, and it all recovers by itself once the fault is gone."""

import re
from urllib.parse import urlparse

import pytest

from tests.security.proxy import TCPProxy
from tests.security.servers import daphne, fresh_postgres_database, json_body, request, with_port

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
