"""Real services for the fault and load tests: a throw-away PostgreSQL database, site servers
with their own environment, and small HTTP/WebSocket helpers with client-side timeouts."""

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from django.conf import settings
from django.utils.datastructures import CaseInsensitiveMapping

from tests.conftest import ROOT, free_port, server_env, start_server, stop_process


def with_database(url, name):
    """`url` with its database name replaced."""
    return urlunparse(urlparse(url)._replace(path="/" + name))


def with_port(url, port):
    parsed = urlparse(url)
    netloc = parsed.netloc.rsplit("@", 1)
    host = f"{parsed.hostname}:{port}"
    return urlunparse(parsed._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@contextlib.contextmanager
def fresh_postgres_database(postgres_url, **env):
    """A new, migrated PostgreSQL database next to the `test` one; dropped afterwards."""
    import psycopg

    name = f"deepboot_fault_{uuid.uuid4().hex[:10]}"
    admin_url = with_database(postgres_url, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = with_database(postgres_url, name)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=server_env(DATABASE_URL=url, **env),
            check=True,
            capture_output=True,
            timeout=180,
        )
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def site_server(**env):
    """A site worker (`manage.py serve`, DEBUG off) with extra environment; yields (base URL, process)."""
    port = free_port()
    log_path = Path(settings.LOGS_DIR) / f"server-security-{port}.log"
    process = start_server(port, server_env(**env), log_path)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop_process(process)


def request(url, data=None, headers=None, timeout=10):
    """(status, headers, body) of a GET, or a POST when `data` is given; errors are answers too."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, CaseInsensitiveMapping(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, CaseInsensitiveMapping(error.headers.items()), error.read()


def json_body(body):
    return json.loads(body.decode())


def multipart(files, fields=None):
    """(body, content type) of a multipart/form-data request; files: [(field, filename, bytes)]."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (fields or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for field, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_files(url, files, fields=None, timeout=10, headers=None):
    body, content_type = multipart(files, fields)
    return request(url, data=body, headers={"Content-Type": content_type, **(headers or {})}, timeout=timeout)


def wait_until(predicate, timeout=10.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def register_models(database_url, entries):
    """Register models (dicts of registry.register arguments, `path` absolute) in the database at
    `database_url`, from a `manage.py shell` process (the test's own database is another one)."""
    code = "import json, sys\nfrom registry import registry\n" + "".join(
        f"registry.register(activate=True, **json.loads({json.dumps(json.dumps({**entry, 'path': str(entry['path'])}))}))\n"
        for entry in entries
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=server_env(DATABASE_URL=database_url),
        check=True,
        capture_output=True,
        timeout=120,
    )


def wait_clear_of_the_hour_boundary(margin=60, period=3600):
    """Tests that count requests in a fixed window (`N/h`, or `N/m` with period=60) must not
    straddle two windows: don't start one in the last `margin` seconds of a window."""
    remaining = period - time.time() % period
    if remaining < margin:
        time.sleep(remaining + 1)
