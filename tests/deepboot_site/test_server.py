"""The real server (`manage.py serve`, DEBUG off) serves pages, hashed static files and the admin."""

import re
import urllib.request

import pytest
from django.utils.datastructures import CaseInsensitiveMapping


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, CaseInsensitiveMapping(response.headers.items()), response.read()


@pytest.mark.django_db(transaction=True)
def test_the_server_serves_home_models_admin_and_compressed_static(asgi_server):
    status, _, body = fetch(asgi_server + "/")
    assert status == 200
    html = body.decode()
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', html)
    assert stylesheet, "the stylesheet is linked under its hashed name"
    status, headers, _ = fetch(asgi_server + stylesheet.group(1), {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "max-age" in headers.get("Cache-Control", "")
    assert fetch(asgi_server + "/models/")[0] == 200
    status, _, body = fetch(asgi_server + "/admin/login/")
    assert status == 200 and b"DeepBoot admin" in body
