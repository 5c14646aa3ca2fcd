"""Security headers on every page: a CSP without inline scripts, nosniff, referrer policy, frames denied."""

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

    from deepboot_site import registry

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
