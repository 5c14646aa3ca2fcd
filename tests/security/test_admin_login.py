"""Admin login throttling (django-axes) through the real server: an address that fails too often is
locked out, even with the right password, with a clear page and Retry-After; other addresses are
not; attempts are stored and logged; a success before the limit starts the count again."""

import http.client
import re
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest
from django.conf import settings
from django.utils.datastructures import CaseInsensitiveMapping

from tests import conftest as harness
from tests.security.servers import request, site_server

PASSWORD = "a-long-staff-password"


@pytest.fixture
def staff(transactional_db, settings):
    from django.contrib.auth import get_user_model

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # one the server knows
    return get_user_model().objects.create_user("staff", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def server(staff):
    env = dict(DEEPBOOT_LOGIN_FAILURES="3", DEEPBOOT_LOGIN_LOCKOUT_MINUTES="10", DEEPBOOT_TRUST_X_FORWARDED_FOR="1")
    with site_server(DATABASE_URL=harness.test_database_url(), **env) as (base, process):
        yield base


def log_path(base):
    return Path(settings.LOGS_DIR) / f"server-security-{urlparse(base).port}.log"


def login(base, password, address):
    """(status, headers, page) of the admin login form posted as a browser would, from `address`."""
    forwarded = {"X-Forwarded-For": address}
    status, headers, body = request(base + "/admin/login/", headers=forwarded)
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    form = urlencode({"csrfmiddlewaretoken": token, "username": "staff", "password": password, "next": "/admin/"})
    parsed = urlparse(base)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:  # not urllib: its redirect after a login drops the new session cookie
        connection.request("POST", "/admin/login/?next=/admin/", body=form.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, **forwarded,
        })
        response = connection.getresponse()
        return response.status, CaseInsensitiveMapping(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def test_an_address_is_locked_out_after_the_failure_limit_even_with_the_right_password(server):
    from axes.models import AccessAttempt

    for _ in range(2):
        status, _, page = login(server, "wrong", "203.0.113.5")
        assert status == 200 and "Please enter the correct username and password" in page
    status, headers, page = login(server, "wrong", "203.0.113.5")  # the third failure locks
    assert status == 429
    status, headers, page = login(server, PASSWORD, "203.0.113.5")
    assert status == 429 and headers["Retry-After"] == "600"
    assert "<h1>Login locked</h1>" in page and "refused for 10 minutes, even with the right password" in page
    attempt = AccessAttempt.objects.get(ip_address="203.0.113.5")
    assert attempt.username == "staff" and attempt.failures_since_start >= 3
    locked = [line for line in log_path(server).read_text().splitlines() if "AXES: Locking out" in line]
    assert locked and "203.0.113.5" in locked[0] and PASSWORD not in log_path(server).read_text()


def test_another_address_still_logs_in_while_one_is_locked_out(server):
    for _ in range(3):
        login(server, "wrong", "203.0.113.7")
    assert login(server, PASSWORD, "203.0.113.7")[0] == 429
    status, headers, _ = login(server, PASSWORD, "203.0.113.8")
    assert status == 302 and headers["Location"] == "/admin/"


def test_a_success_before_the_limit_starts_the_count_again(server):
    for _ in range(2):
        login(server, "wrong", "203.0.113.9")
    assert login(server, PASSWORD, "203.0.113.9")[0] == 302
    for _ in range(2):
        assert login(server, "wrong", "203.0.113.9")[0] == 200
    assert login(server, PASSWORD, "203.0.113.9")[0] == 302
