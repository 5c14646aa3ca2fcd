"""The test harness every app's tests share.

- `require(...)`: skip a test whose outside service is missing, except under CI=true, where a
  missing Chromium, PostgreSQL or Redis is a failure.
- `asgi_server`: the real server (`manage.py serve`) on a free 127.0.0.1 port, against the test
  database. Tests that write data for it to read use `transactional_db`, so the data is committed.
- `browser` / `page`: Playwright driving Debian's Chromium, headless; `screenshot(page, name)`
  saves under test-artifacts/.
- `once_per_run`: a session fixture's costly artefact made once for all pytest-xdist workers.
"""

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("DEEPBOOT_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = os.environ.get("DEEPBOOT_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available, reason):
    """Skip when `available` is false; under CI that is a failure instead."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI needs this and it is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database URL for the tests of the scaled path (default: local `test`)."""
    url = os.environ.get("DEEPBOOT_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    parsed = urlparse(url)
    require(port_open(parsed.hostname, parsed.port or 5432), f"no PostgreSQL at {parsed.hostname}:{parsed.port or 5432}")
    return url


@pytest.fixture(scope="session")
def redis_url():
    """A Redis URL for the tests of the scaled path (default: local 6379, database 0)."""
    url = os.environ.get("DEEPBOOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parsed = urlparse(url)
    require(port_open(parsed.hostname, parsed.port or 6379), f"no Redis at {parsed.hostname}:{parsed.port or 6379}")
    return url


@pytest.fixture(scope="session", autouse=True)
def collected_static():
    """Hashed, compressed static files, as `make run` serves them with DEBUG off."""
    from django.core.management import call_command

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        call_command("collectstatic", interactive=False, verbosity=0)


def server_env(**extra):
    """The environment for a server or command subprocess that shares this test run's var folder."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    # Servers the tests start load their models on the first request, as the tests expect; the
    # warm-up at start is tested on its own (tests/registry/test_warmup.py sets it on).
    env.setdefault("DEEPBOOT_WARM_MODELS", "0")
    env.update({key: str(value) for key, value in extra.items()})
    return env


def test_database_url():
    """The URL of the test database pytest-django created, for a subprocess to use."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_server(port, env, log_path):
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited with {process.returncode}; see {log_path}")
        if port_open("127.0.0.1", port, timeout=0.2):
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"The server did not listen on {port} within 60 s; see {log_path}")


def stop_process(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """The real server (`manage.py serve`) on a free port, serving the test database. Yields its base URL."""
    with django_db_blocker.unblock():
        env = server_env(DATABASE_URL=test_database_url())
    port = free_port()
    log_path = Path(settings.LOGS_DIR) / f"server-{port}.log"
    process = start_server(port, env, log_path)
    yield f"http://127.0.0.1:{port}"
    stop_process(process)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (the bundled browser is not used)."""
    require(Path(CHROMIUM).exists() or shutil.which("chromium"), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (own cookies, own session) and page; the test's console errors are kept."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    yield page
    context.close()


def screenshot(page, name):
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def once_per_run(tmp_path_factory, name, make):
    """Under pytest-xdist, the folder `name` that `make(folder)` fills once for all of this run's
    workers: the first worker to ask makes it while it holds a lock, the others wait for it and
    share it. In one process, None: the caller makes its own, as before."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    root = tmp_path_factory.getbasetemp().parent  # the workers' basetemps are folders of this one
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / f"{name}.made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            (root / f"{name}.made").touch()
    return folder


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread from its first use, which would break the async (consumer) tests after it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
