"""Per-client rate limits on the image APIs, through the real views: 429 with Retry-After past
DEEPBOOT_API_RATE, one count per API and client; and, with REDIS_URL, one count shared by two
server processes."""

import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import conftest as harness
from tests.image_corpus import jpeg
from tests.security.servers import json_body, post_files, site_server, wait_clear_of_the_hour_boundary

APIS = ["/api/classify/", "/api/detect/"]
PAGES = ["/classify/", "/detect/"]


@pytest.fixture
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def upload(client, url, address):
    return client.post(url, {"image": SimpleUploadedFile("a.jpg", jpeg())}, REMOTE_ADDR=address)


@pytest.mark.django_db
@pytest.mark.parametrize("url", APIS)
def test_an_api_answers_429_with_retry_after_past_the_rate(client, settings, fresh_counts, active_models, url):
    settings.DEEPBOOT_API_RATE = "3/m"
    statuses = [upload(client, url, "10.9.0.1").status_code for _ in range(3)]
    refused = upload(client, url, "10.9.0.1")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Content-Type"] == "application/json"
    assert "Too many requests" in refused.json()["error"] and "3/m" in refused.json()["error"]
    assert upload(client, url, "10.9.0.2").status_code == 200, "another client has its own count"


@pytest.mark.django_db
@pytest.mark.parametrize("url", APIS)
def test_bad_requests_count_too(client, settings, fresh_counts, url):
    """Refused uploads cost the server work as well: they use up the client's rate."""
    settings.DEEPBOOT_API_RATE = "2/m"
    assert client.post(url, {}, REMOTE_ADDR="10.9.0.3").status_code == 400
    assert client.post(url, {}, REMOTE_ADDR="10.9.0.3").status_code == 400
    assert client.post(url, {}, REMOTE_ADDR="10.9.0.3").status_code == 429


@pytest.mark.django_db
def test_each_api_has_its_own_count(client, settings, fresh_counts, active_models):
    settings.DEEPBOOT_API_RATE = "1/m"
    assert [upload(client, url, "10.9.0.4").status_code for url in APIS] == [200, 200]
    assert [upload(client, url, "10.9.0.4").status_code for url in APIS] == [429, 429]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_the_pages_form_posts_are_limited_too_but_reading_them_is_free(client, settings, fresh_counts, active_models, url):
    """The forms run the same models as the APIs: without a limit they would be the way around it."""
    settings.DEEPBOOT_API_RATE = "2/m"
    assert [upload(client, url, "10.9.0.5").status_code for _ in range(2)] == [200, 200]
    refused = upload(client, url, "10.9.0.5")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many requests" in refused.content.decode() and refused["Content-Type"].startswith("text/html")
    assert client.get(url, REMOTE_ADDR="10.9.0.5").status_code == 200
    api = url.replace("/classify/", "/api/classify/").replace("/detect/", "/api/detect/")
    assert upload(client, api, "10.9.0.5").status_code == 200, "the API keeps its own count"


@pytest.mark.django_db(transaction=True)
def test_two_server_processes_share_one_count_in_redis(redis_url):
    """Two server processes with REDIS_URL: five requests a client may make in all, not per process.
    The requests carry no image (400): they count all the same, and no model needs loading."""
    client_address = f"2001:db8::{uuid.uuid4().hex[:4]}"  # a fresh client: no count left from other runs
    env = dict(
        DATABASE_URL=harness.test_database_url(),
        REDIS_URL=redis_url,
        DEEPBOOT_API_RATE="5/h",
        DEEPBOOT_TRUST_X_FORWARDED_FOR="1",
    )
    no_image = [("photo", "a.jpg", jpeg())]
    with site_server(**env) as (first, _), site_server(**env) as (second, _):
        for url in APIS:
            wait_clear_of_the_hour_boundary()
            answers = [
                post_files(base + url, no_image, headers={"X-Forwarded-For": client_address}, timeout=60)
                for base in (first, second, first, second, first, second, first)
            ]
            assert [status for status, _, _ in answers] == [400] * 5 + [429] * 2, [a[2][:120] for a in answers]
            for status, response_headers, body in answers[5:]:
                assert 1 <= int(response_headers["Retry-After"]) <= 3600
                assert "Too many requests" in json_body(body)["error"]
            other = post_files(second + url, no_image, headers={"X-Forwarded-For": client_address + "1"}, timeout=60)
            assert other[0] == 400, "other clients are not affected"


@pytest.mark.django_db(transaction=True)
def test_the_default_is_30_a_minute_per_client_on_each_api():
    """A server started with DEEPBOOT_API_RATE empty (as unset: the settings fall back to the
    default): the 31st request of a minute from one client is refused, on each API."""
    no_image = [("photo", "a.jpg", jpeg())]
    with site_server(DATABASE_URL=harness.test_database_url(), DEEPBOOT_API_RATE="") as (base, _):
        for url in APIS:
            wait_clear_of_the_hour_boundary(margin=15, period=60)
            statuses = [post_files(base + url, no_image, timeout=30)[0] for _ in range(31)]
            assert statuses == [400] * 30 + [429], statuses


@pytest.mark.django_db(transaction=True)
def test_real_server_lets_no_more_than_the_rate_through_across_a_window_edge():
    """12 requests in well under a second, sent from 0.1 s before a whole second (where a fixed
    window of "5/s" started afresh and let 10 through): 5 answered, 7 refused."""
    import time

    no_image = [("photo", "a.jpg", jpeg())]
    with site_server(DATABASE_URL=harness.test_database_url(), DEEPBOOT_API_RATE="5/s") as (base, _):
        post_files(base + "/api/detect/", no_image, timeout=60)  # the first request's imports, elsewhere
        for _ in range(5):  # on a loaded machine the burst may take too long: try again
            time.sleep((0.9 - time.time() % 1) % 1)
            started = time.monotonic()
            statuses = [post_files(base + "/api/classify/", no_image, timeout=30)[0] for _ in range(12)]
            if time.monotonic() - started < 0.9:
                break
            time.sleep(1.1)  # let the window empty before the next try
        else:
            pytest.fail("12 requests never fitted within 0.9 s on this machine")
    assert statuses == [400] * 5 + [429] * 7, statuses


@pytest.mark.django_db(transaction=True)
def test_real_server_counts_oversized_bodies_refused_before_django():
    oversized = [("image", "big.jpg", b"\xff" * (11 * 1024 * 1024))]
    no_image = [("photo", "a.jpg", jpeg())]
    with site_server(DATABASE_URL=harness.test_database_url(), DEEPBOOT_API_RATE="2/m") as (base, _):
        assert [post_files(base + "/api/classify/", oversized, timeout=60)[0] for _ in range(2)] == [413, 413]
        status, headers, body = post_files(base + "/api/classify/", no_image, timeout=60)
        assert status == 429 and "Too many requests" in json_body(body)["error"]
        assert post_files(base + "/api/detect/", no_image, timeout=60)[0] == 400, "the other API keeps its count"
