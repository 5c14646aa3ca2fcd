"""Security headers on every page: a CSP without inline scripts, nosniff, referrer policy, frames denied."""

import json
import re

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/models/", "/no-such-page/"])
def test_pages_carry_the_security_headers(client, url):
    response = client.get(url)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "connect-src 'self' ws://testserver wss://testserver" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_our_templates_have_no_inline_script_or_handlers(client):
    html = client.get("/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.django_db
def test_https_adds_hsts_and_redirects(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/").status_code == 301
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_database_errors_become_a_503_page_not_a_500(client, monkeypatch):
    from django.db import OperationalError

    from registry import registry

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(registry, "active_records", database_down)
    response = client.get("/models/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()
    assert response["Retry-After"] == "5"
    monkeypatch.undo()
    assert client.get("/models/").status_code == 200, "recovers on the next request"


@pytest.mark.django_db
def test_database_errors_on_an_api_are_json(rf):
    from django.db import OperationalError

    from deepboot_site.middleware import ServiceUnavailableMiddleware

    request = rf.post("/api/classify/")
    response = ServiceUnavailableMiddleware(lambda r: None).process_exception(request, OperationalError("down"))
    assert response.status_code == 503 and b'"error"' in response.content


async def asgi_post(path, headers, body=b""):
    """(status, headers, body) of a POST sent straight to the ASGI application, as the server would."""
    from asgiref.testing import ApplicationCommunicator

    from deepboot_site.asgi import application

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(10)
    content = await communicator.receive_output(10)
    await communicator.wait(10)
    return start["status"], dict(start["headers"]), content["body"]


@pytest.mark.parametrize("path", ["/api/classify/", "/api/detect/", "/classify/", "/detect/", "/admin/login/"])
@pytest.mark.parametrize(
    "headers, status",
    [
        ([(b"content-length", b"20000000"), (b"content-type", b"multipart/form-data; boundary=x")], 413),
        ([(b"transfer-encoding", b"chunked"), (b"content-type", b"multipart/form-data; boundary=x")], 411),
        ([(b"content-length", b"lots")], 400),
    ],
    ids=["too-long", "chunked", "not-a-number"],
)
async def test_oversized_and_chunked_bodies_are_refused_before_django_reads_them(path, headers, status):
    answer, response_headers, body = await asgi_post(path, headers)
    assert answer == status
    assert response_headers[b"x-content-type-options"] == b"nosniff"
    if path.startswith("/api/"):
        assert response_headers[b"content-type"] == b"application/json"
        assert json.loads(body)["error"]
    else:
        assert b"Upload refused" in body and b"<script" not in body


@pytest.mark.django_db(transaction=True)
async def test_bodies_within_the_limit_reach_django():
    status, _, body = await asgi_post("/api/classify/", [(b"content-length", b"2"), (b"content-type", b"text/plain")], b"hi")
    assert status in (400, 503) and b"error" in body  # Django's view answered (no image / no model)


class HeldApp:
    """An inner ASGI app that answers 200 only once `release` is set, recording how many it holds."""

    def __init__(self):
        import asyncio

        self.release = asyncio.Event()
        self.inside = 0
        self.most_inside = 0

    async def __call__(self, scope, receive, send):
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await self.release.wait()
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def gated(gate, path, method="POST"):
    """(status, headers, body) of one request through the gate."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await gate({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


async def test_the_gate_runs_a_few_image_requests_queues_some_and_refuses_the_rest_with_503(settings):
    import asyncio

    from deepboot_site.middleware import InferenceGate

    settings.DEEPBOOT_INFERENCE_CONCURRENCY, settings.DEEPBOOT_INFERENCE_QUEUE = 2, 1
    inner = HeldApp()
    gate = InferenceGate(inner)
    held = [asyncio.create_task(gated(gate, "/api/classify/")) for _ in range(3)]
    await asyncio.sleep(0.05)
    status, headers, body = await gated(gate, "/api/detect/")
    assert status == 503 and headers[b"retry-after"] == b"5"
    assert headers[b"content-type"] == b"application/json" and "busy" in json.loads(body)["error"]
    inner.release.set()
    assert [answer[0] for answer in await asyncio.gather(*held)] == [200, 200, 200]
    assert inner.most_inside == 2


async def test_a_burst_that_arrives_at_once_is_held_to_the_same_bound(settings):
    """Requests whose headers the server reads in one turn of its event loop all reach the gate
    before any of them has taken a turn: the bound holds for them too (it once let all twelve
    queue, none refused)."""
    import asyncio

    from deepboot_site.middleware import InferenceGate

    settings.DEEPBOOT_INFERENCE_CONCURRENCY, settings.DEEPBOOT_INFERENCE_QUEUE = 2, 2
    inner = HeldApp()
    gate = InferenceGate(inner)
    burst = [asyncio.create_task(gated(gate, "/api/classify/")) for _ in range(12)]
    await asyncio.sleep(0.05)
    answered = [task.result()[0] for task in burst if task.done()]
    assert answered == [503] * 8 and inner.inside == 2 and gate.waiting == 2
    inner.release.set()
    assert sorted(answer[0] for answer in await asyncio.gather(*burst)) == [200] * 4 + [503] * 8


async def test_the_gate_lets_other_pages_through_while_full_and_refuses_a_page_form_with_a_page(settings):
    import asyncio

    from deepboot_site.middleware import InferenceGate

    settings.DEEPBOOT_INFERENCE_CONCURRENCY, settings.DEEPBOOT_INFERENCE_QUEUE = 1, 0
    inner = HeldApp()
    gate = InferenceGate(inner)
    held = asyncio.create_task(gated(gate, "/classify/"))
    await asyncio.sleep(0.05)
    status, headers, body = await gated(gate, "/detect/")
    assert status == 503 and headers[b"content-type"].startswith(b"text/html") and b"busy" in body
    other = asyncio.create_task(gated(gate, "/classify/", method="GET"))
    await asyncio.sleep(0.05)
    assert inner.inside == 2  # the GET went straight in beside the held upload
    inner.release.set()
    assert (await held)[0] == 200 and (await other)[0] == 200


async def test_a_request_that_waits_too_long_for_its_turn_gets_503(settings):
    import asyncio

    from deepboot_site.middleware import InferenceGate

    settings.DEEPBOOT_INFERENCE_CONCURRENCY, settings.DEEPBOOT_INFERENCE_QUEUE = 1, 5
    settings.DEEPBOOT_INFERENCE_WAIT = 0.1
    inner = HeldApp()
    gate = InferenceGate(inner)
    held = asyncio.create_task(gated(gate, "/api/classify/"))
    await asyncio.sleep(0.05)
    status, _, body = await gated(gate, "/api/classify/")
    assert status == 503 and "waited 0.1 s" in json.loads(body)["error"]
    assert gate.waiting == 0
    inner.release.set()
    assert (await held)[0] == 200


@pytest.mark.django_db
def test_a_method_a_page_does_not_accept_gets_a_readable_page(client):
    response = client.put("/classify/")
    body = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "GET, POST"
    assert "<h1>Request refused</h1>" in body and "does not accept PUT requests; it accepts GET, POST" in body


def test_an_empty_refusal_on_an_api_becomes_json(rf):
    from django.http import HttpResponseNotAllowed

    from deepboot_site.middleware import EmptyRefusalMiddleware

    response = EmptyRefusalMiddleware(lambda request: HttpResponseNotAllowed(["POST"]))(rf.delete("/api/classify/"))
    assert response.status_code == 405 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"error": "This address does not accept DELETE requests; it accepts POST."}
