"""Requests the site refuses while reading them, through the real server: Django's parsing
limits, malformed multipart, a very long filename, a trickled body. On /api/* every refusal is
JSON {"error": ...} with a 4xx; on the pages' forms it is a readable page. No `Server:` banner;
static files carry the site's headers."""

import json
import re
import socket
import time
import uuid
from urllib.parse import urlparse

import pytest

from tests import conftest as harness
from tests.security.servers import request, site_server

APIS = ["/api/classify/", "/api/detect/"]
PAGES = ["/classify/", "/detect/"]


def part(name, value, filename=None):
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"Content-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def body_of(parts, boundary):
    return b"".join(f"--{boundary}\r\n".encode() + p for p in parts) + f"--{boundary}--\r\n".encode()


def bodies():
    """name -> (body, content type): each a request Django refuses while parsing it."""
    boundary = uuid.uuid4().hex
    multipart = f"multipart/form-data; boundary={boundary}"
    return {
        "150 files": (body_of([part("image", b"x", f"a{i}.jpg") for i in range(150)], boundary), multipart),
        "1,100 fields": (body_of([part(f"f{i}", b"x") for i in range(1100)], boundary), multipart),
        "10,000-character filename": (body_of([part("image", b"x", "a" * 10_000 + ".jpg")], boundary), multipart),
        "malformed boundary": (body_of([part("image", b"x", "a.jpg")], boundary), 'multipart/form-data; boundary="a b\x7f"'),
        "multipart without a boundary": (body_of([part("image", b"x", "a.jpg")], boundary), "multipart/form-data"),
    }


def form_session(base, page):
    """(cookie header, token field) as a browser holds them after opening a form page."""
    status, headers, body = request(base + page)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    return {"Cookie": headers["Set-Cookie"].split(";")[0]}, token


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """A real server on the test database, with a 2 s deadline for a request to arrive; one for
    the module's tests, as none of them leaves anything behind that another reads."""
    with django_db_blocker.unblock():
        database_url = harness.test_database_url()
    with site_server(DATABASE_URL=database_url, DEEPBOOT_REQUEST_TIMEOUT="2", DEEPBOOT_API_RATE="100000/m") as (base, _):
        yield base


def test_apis_answer_every_request_django_cannot_parse_with_a_json_400(server):
    for name, (body, content_type) in sorted(bodies().items()):
        for url in APIS:
            status, headers, answer = request(server + url, data=body, headers={"Content-Type": content_type})
            assert status == 400, (name, url, answer[:300])
            assert headers["Content-Type"] == "application/json", (name, url)
            assert len(json.loads(answer)["error"]) > 20, (name, url)


def test_page_forms_answer_requests_django_cannot_parse_with_a_readable_page(server):
    for name in ["150 files", "1,100 fields", "10,000-character filename"]:
        for url in PAGES:
            cookie, token = form_session(server, url)
            body, content_type = bodies()[name]
            boundary = content_type.split("boundary=")[1]
            body = f"--{boundary}\r\n".encode() + part("csrfmiddlewaretoken", token.encode()) + body
            status, headers, answer = request(
                server + url, data=body, headers={"Content-Type": content_type, "Referer": server + url, **cookie}
            )
            page = answer.decode()
            assert status == 400 and headers["Content-Type"].startswith("text/html"), (name, url, page[:300])
            assert "<h1>Request refused</h1>" in page and "Traceback" not in page, (name, url)
            assert re.search(r'data-testid="error">[^<]{20,}<', page), (name, url)


def test_an_unknown_api_address_is_a_json_404(server):
    status, headers, answer = request(server + "/api/nothing-here/")
    assert status == 404 and json.loads(answer)["error"]


def raw_exchange(base, data, pause_after=None, wait=10):
    """Send raw bytes (the first `pause_after` of them, then nothing more) and read the answer."""
    parsed = urlparse(base)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=wait) as sock:
        sock.sendall(data if pause_after is None else data[:pause_after])
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_body_trickled_past_the_request_timeout_gets_408_and_the_connection_closes(server):
    host = urlparse(server).netloc
    for url, kind in [("/api/classify/", b"application/json"), ("/classify/", b"text/html")]:
        head = f"POST {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
        started = time.monotonic()
        answer = raw_exchange(server, head.encode() + b"x" * 1000, pause_after=len(head) + 10)
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert kind in answer
        assert 1.5 < elapsed < 8  # the 2 s deadline, not the client's 10 s wait


@pytest.mark.parametrize("sent", [b"", b"GET /api/classify/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: x"],
                         ids=["nothing", "half the headers"])
def test_a_connection_whose_request_never_arrives_whole_gets_408_at_the_deadline(server, sent):
    started = time.monotonic()
    answer = raw_exchange(server, sent)  # then nothing more: the client only reads
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert (b"application/json" if sent else b"text/html") in answer
    assert 1.5 < time.monotonic() - started < 8  # the 2 s deadline, not the client's 10 s wait


def test_a_whole_request_within_the_timeout_is_served(server):
    assert request(server + "/")[0] == 200


def test_no_response_names_the_server_software(server):
    for path in ["/", "/api/classify/", "/static/css/site.css", "/no-such-page/"]:
        _, headers, _ = request(server + path)
        assert "server" not in {key.lower() for key in headers}, path


def test_static_files_carry_the_site_security_headers(server):
    status, headers, _ = request(server + "/static/css/site.css")
    assert status == 200
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Permissions-Policy"] and headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_a_method_a_page_does_not_take_is_answered_with_a_readable_page(server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(server + "/detect/", method="OPTIONS"), timeout=30)
    page = refused.value.read().decode()
    assert refused.value.code == 405 and "<h1>Request refused</h1>" in page and "does not accept OPTIONS" in page


def open_files_under(pid, folder):
    """Paths of the files process `pid` holds open under `folder` (deleted ones included)."""
    import os
    from pathlib import Path

    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.mark.parametrize("length", [12 * 1024 * 1024, None], ids=["oversized", "chunked"])
def test_a_body_the_site_refuses_from_its_headers_is_not_kept_while_it_arrives(transactional_db, tmp_path, length):
    spool = tmp_path / "tmp"
    spool.mkdir()
    with site_server(DATABASE_URL=harness.test_database_url(), TMPDIR=spool) as (base, process):
        host = urlparse(base).netloc
        framing = f"Content-Length: {length}" if length else "Transfer-Encoding: chunked"
        head = f"POST /api/classify/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n{framing}\r\n\r\n".encode()
        part = b"x" * (4 * 1024 * 1024)
        if length is None:
            part = f"{len(part):x}\r\n".encode() + part + b"\r\n"
        with socket.create_connection((urlparse(base).hostname, urlparse(base).port), timeout=30) as sock:
            sock.sendall(head + part)  # a third of the body, then a pause
            time.sleep(1.0)
            held = open_files_under(process.pid, spool)
            rest = b"x" * (length - len(part)) if length else b"0\r\n\r\n"
            sock.sendall(rest)
            answer = sock.recv(65536)
    assert held == [], f"the server spooled the body: {held}"
    assert answer.startswith(b"HTTP/1.1 413" if length else b"HTTP/1.1 411"), answer[:200]
    assert b"application/json" in answer


@pytest.mark.parametrize("framing, status", [
    (f"Content-Length: {50 * 1024 * 1024}", 413),
    (f"Content-Length: {50 * 1024 * 1024}\r\nExpect: 100-continue", 413),
    ("Transfer-Encoding: chunked", 411),
], ids=["oversized", "oversized-expect-100-continue", "chunked"])
def test_a_body_the_site_refuses_is_refused_from_its_headers_before_any_of_it_is_sent(server, framing, status):
    host = urlparse(server).netloc
    head = f"POST /api/classify/ HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/jpeg\r\n{framing}\r\n\r\n"
    started = time.monotonic()
    answer = raw_exchange(server, head.encode())  # the headers alone; the client then only reads
    assert answer.startswith(b"HTTP/1.1 %d" % status), answer[:200]  # no "100 Continue" first
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    # The connection waited for the body until the request deadline (2 s here), then closed.
    assert 1.5 < time.monotonic() - started < 8
