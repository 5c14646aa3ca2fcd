"""Per-client API rate limits: 429 with Retry-After past the limit, counted per scope and client."""

import json

import pytest
from django.core.cache import cache
from django.http import JsonResponse
from django.test import RequestFactory

from deepboot_site import checks, ratelimit


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@ratelimit.rate_limited("test-api")
def echo(request):
    return JsonResponse({"ok": True})


def request_from(address, **extra):
    return RequestFactory().post("/api/test/", REMOTE_ADDR=address, **extra)


@pytest.mark.parametrize("rate, expected", [("30/m", (30, 60)), ("120/m", (120, 60)), ("5/s", (5, 1)), ("1000/h", (1000, 3600))])
def test_rates_parse(rate, expected):
    assert ratelimit.parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "30", "30/d", "x/m", "0/m", "-1/m"])
def test_bad_rates_are_refused_by_a_system_check(settings, rate):
    settings.DEEPBOOT_API_RATE = rate
    errors = checks.api_rate_is_valid(None)
    assert [e.id for e in errors] == ["deepboot.E001"]


def test_over_the_limit_is_429_with_retry_after(settings):
    settings.DEEPBOOT_API_RATE = "3/m"
    statuses = [echo(request_from("10.1.1.1")).status_code for _ in range(3)]
    refused = echo(request_from("10.1.1.1"))
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many requests" in json.loads(refused.content)["error"]


def test_clients_are_counted_separately(settings):
    settings.DEEPBOOT_API_RATE = "1/m"
    assert echo(request_from("10.0.0.1")).status_code == 200
    assert echo(request_from("10.0.0.2")).status_code == 200
    assert echo(request_from("10.0.0.1")).status_code == 429


def test_forwarded_address_counts_only_behind_a_trusted_proxy(settings):
    settings.DEEPBOOT_API_RATE = "1/m"
    settings.DEEPBOOT_TRUST_X_FORWARDED_FOR = False
    assert echo(request_from("10.0.0.9", HTTP_X_FORWARDED_FOR="1.1.1.1")).status_code == 200
    assert echo(request_from("10.0.0.9", HTTP_X_FORWARDED_FOR="2.2.2.2")).status_code == 429
    settings.DEEPBOOT_TRUST_X_FORWARDED_FOR = True
    assert echo(request_from("10.0.0.9", HTTP_X_FORWARDED_FOR="3.3.3.3, 10.0.0.9")).status_code == 200


def test_an_unreachable_cache_lets_requests_through(settings, monkeypatch):
    settings.DEEPBOOT_API_RATE = "1/m"

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(ratelimit.cache, "add", down)
    assert [echo(request_from("10.0.0.5")).status_code for _ in range(3)] == [200, 200, 200]


@ratelimit.rate_limited("test-page", methods=["POST"])
def page(request):
    from django.http import HttpResponse

    return HttpResponse("the page")


def test_a_page_counts_only_the_methods_named_and_answers_a_page(settings):
    settings.DEEPBOOT_API_RATE = "1/m"
    factory = RequestFactory()
    assert [page(factory.get("/demo/", REMOTE_ADDR="10.3.0.1")).status_code for _ in range(3)] == [200] * 3
    assert page(factory.post("/demo/", REMOTE_ADDR="10.3.0.1")).status_code == 200
    refused = page(factory.post("/demo/", REMOTE_ADDR="10.3.0.1"))
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"].startswith("text/html") and b"Too many requests" in refused.content
    assert page(factory.get("/demo/", REMOTE_ADDR="10.3.0.1")).status_code == 200, "reading the page stays free"


class Clock:
    """time.time for the limiter and the cache alike, moved by hand."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(1_000_000_000.0)
    monkeypatch.setattr(ratelimit.time, "time", fake)
    return fake


def test_the_window_slides_so_no_edge_lets_twice_the_rate_through(settings, clock):
    settings.DEEPBOOT_API_RATE = "3/m"
    clock.now = 1_000_000_019.9  # 0.1 s before a whole minute, where a fixed window would reset
    assert [echo(request_from("10.4.0.1")).status_code for _ in range(3)] == [200] * 3
    clock.now += 0.2
    assert [echo(request_from("10.4.0.1")).status_code for _ in range(3)] == [429] * 3
    clock.now = 1_000_000_019.9 + 60.01  # the first three are a minute old, the refused ones are not
    assert echo(request_from("10.4.0.1")).status_code == 429


def test_a_client_that_waits_a_whole_period_is_served_again(settings, clock):
    settings.DEEPBOOT_API_RATE = "2/m"
    assert [echo(request_from("10.4.0.2")).status_code for _ in range(3)] == [200, 200, 429]
    clock.now += 60.5
    assert echo(request_from("10.4.0.2")).status_code == 200


def test_retry_after_is_when_the_oldest_counted_request_leaves_the_window(settings, clock):
    settings.DEEPBOOT_API_RATE = "3/m"
    start = clock.now
    for offset in (0, 10, 20):
        clock.now = start + offset
        assert echo(request_from("10.4.0.3")).status_code == 200
    clock.now = start + 30
    refused = echo(request_from("10.4.0.3"))
    # Counted: 0, 10, 20 and this one at 30; one more is allowed once the one at 10 is a minute old.
    assert refused.status_code == 429 and refused["Retry-After"] == "40"
    clock.now = start + 70.5
    assert echo(request_from("10.4.0.3")).status_code == 200


async def test_an_oversized_body_refused_before_django_counts_against_the_rate(settings):
    from tests.deepboot_site.test_middleware import asgi_post

    settings.DEEPBOOT_API_RATE = "2/m"
    too_long = [(b"content-length", b"20000000"), (b"content-type", b"multipart/form-data; boundary=x")]
    for _ in range(2):
        assert (await asgi_post("/api/detect/", too_long))[0] == 413
    allowed, retry_after = ratelimit.hit("detect", "127.0.0.1", "2/m")
    assert not allowed and retry_after >= 1
