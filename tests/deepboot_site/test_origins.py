"""deepboot_site/origins.py: a WebSocket Origin must be the site's own scheme, allowed host and port."""

import pytest

from deepboot_site.origins import origin_allowed

HOSTS = ["127.0.0.1", "localhost", "[::1]", ".example.com"]


@pytest.mark.parametrize(
    "origin, host, secure",
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://localhost:8000", "127.0.0.1:8000", False),
        ("http://[::1]:8000", "[::1]:8000", False),
        ("https://example.com", "example.com", True),
        ("https://www.example.com", "www.example.com", True),
        ("https://example.com:443", "example.com", True),
        ("http://127.0.0.1", "127.0.0.1", False),
    ],
)
def test_the_sites_own_origins_are_allowed(origin, host, secure):
    assert origin_allowed(origin, host, secure, HOSTS)


@pytest.mark.parametrize(
    "origin, host, secure",
    [
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),
        ("https://127.0.0.1", "127.0.0.1:8000", False),
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://example.com", "example.com", True),
        ("https://example.com:8443", "example.com", True),
        ("http://evil.example:8000", "127.0.0.1:8000", False),
        ("http://127.0.0.1.evil.example:8000", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),
        ("", "127.0.0.1:8000", False),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", "127.0.0.1:99999", False),
        ("http://a@127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://[::1:8000", "[::1]:8000", False),
    ],
)
def test_other_schemes_ports_and_hosts_are_refused(origin, host, secure):
    assert not origin_allowed(origin, host, secure, HOSTS)


def test_a_trusted_origin_is_allowed_exactly():
    trusted = ["https://app.example.org"]
    assert origin_allowed("https://app.example.org", "127.0.0.1:8000", False, HOSTS, trusted)
    assert not origin_allowed("https://app.example.org:444", "127.0.0.1:8000", False, HOSTS, trusted)
