"""Helpers for the tests of the scaled path: a Redis database and a PostgreSQL database of their
own for one test, and a staff session cookie for a server that shares the test database."""

import secrets
from urllib.parse import urlparse, urlunparse

import pytest


def _with_path(url, path):
    return urlunparse(urlparse(url)._replace(path=path))


@pytest.fixture
def own_redis_url(redis_url):
    """An empty Redis database number (1-15) on the test Redis, flushed afterwards, so group names
    such as "run-1" do not meet another test run's."""
    import redis

    for number in range(15, 0, -1):
        url = _with_path(redis_url, f"/{number}")
        client = redis.Redis.from_url(url)
        # The claim is atomic (SET NX): two test processes (pytest-xdist) never take the same one.
        if client.dbsize() == 0 and client.set("deepboot-test-claim", "1", ex=600, nx=True):
            yield url
            client.flushdb()
            return
    pytest.fail("No empty Redis database (1-15) on the test Redis.")


@pytest.fixture
def fresh_postgres_url(postgres_url):
    """A new database deepboot_scale_<random> on the test PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"deepboot_scale_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_path(postgres_url, "/" + name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def staff_cookie():
    """A staff user's session cookie in the (committed) test database."""
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_user(f"staff-{secrets.token_hex(3)}", password=secrets.token_hex(8), is_staff=True)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"
