"""deepboot_site/staticfiles.py: a real worker, started as the README's scale-out section
shows, against an empty STATIC_ROOT (collectstatic never run), serves its pages and their CSS;
after collectstatic and a restart it links the hashed copies."""

import re
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT, free_port, server_env, start_server, stop_process

pytestmark = pytest.mark.slow


def manage(env, *args):
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def get(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


def stylesheet(html):
    return re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)


@pytest.fixture
def var_env(tmp_path):
    """A fresh var folder (SQLite, nothing collected) for a subprocess server."""
    env = server_env(DEEPBOOT_VAR=tmp_path / "var", DATABASE_URL="", REDIS_URL="", DJANGO_DEBUG="0")
    manage(env, "migrate", "--verbosity", "0")
    assert not (tmp_path / "var" / "static").exists()
    return env


def test_a_worker_before_collectstatic_serves_pages_and_their_static_files(var_env, tmp_path):
    port = free_port()
    server = start_server(port, var_env, tmp_path / "server.log")
    try:
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/models/", "/classify/", "/admin/login/"):
            status, _, html = get(base + path)
            assert status == 200, path
        status, content_type, css = get(base + stylesheet(get(base + "/")[2]))
        assert status == 200 and content_type.startswith("text/css") and css.strip()
        assert stylesheet(get(base + "/")[2]) == "/static/css/site.css"
    finally:
        stop_process(server)


def test_after_collectstatic_a_restarted_worker_links_the_hashed_copies(var_env, tmp_path):
    manage(var_env, "collectstatic", "--noinput", "--verbosity", "0")
    port = free_port()
    server = start_server(port, var_env, tmp_path / "server.log")
    try:
        base = f"http://127.0.0.1:{port}"
        link = stylesheet(get(base + "/")[2])
        assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", link)
        status, content_type, _ = get(base + link)
        assert status == 200 and content_type.startswith("text/css")
    finally:
        stop_process(server)
