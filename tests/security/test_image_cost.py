"""What one image may cost, through the real server: sides over the limit refused from the
header, and many simultaneous worst-case legal uploads (40 megapixels, 16-bit grey and RGBA) kept
within a memory budget measured on the server process, with the overflow refused 503 and the
other pages answering meanwhile."""

import http.client
import io
import json
import re
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from tests import conftest as harness
from tests.memory import rss_kib
from tests.security.servers import json_body, multipart, post_files, request, site_server

APIS = ["/api/classify/", "/api/detect/"]
PAGES = ["/classify/", "/detect/"]
SIDE = 6324  # 6324 x 6324 = 39,992,976 pixels, just under the default 40 MP limit
# Peak growth of the server over its RSS once warmed up on these very images. One upload worked on
# shrunk peaks at about 250 MB (16-bit grey: the pixels, their 8-bit stretch) to 320 MB (RGBA:
# Pillow's decode), and two run at once here: about 650 MB. The budget leaves nearly twice that
# for allocator noise, yet is far below what unbounded concurrency (12 at once: about 3.6 GB) or
# the float64 conversion of before (about 1 GB per 16-bit image, so 2 GB for two) would take.
PEAK_BUDGET_MB = 1200


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def worst_cases():
    """Legal worst cases: 40 MP of 16-bit grey and of RGBA, a few hundred KB each."""
    ramp = np.add.outer(np.arange(SIDE, dtype=np.uint32) * 7, np.arange(SIDE, dtype=np.uint32) * 3)
    grey16 = png((ramp % 65536).astype(np.uint16))
    del ramp
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., 0] = (np.arange(SIDE) % 256)[None, :]
    rgba[..., 3] = 200
    return {"16-bit grey": grey16, "RGBA": png(rgba)}


def send_head(base, url, name, content):
    """A connection that has sent an upload's request line and headers, its body still to come
    (send_body_and_read_answer): the server lets it in or refuses it from the headers alone, and
    one it lets in holds its place until the body arrives, so twelve at once are twelve at once
    however busy the machine is."""
    address = urlparse(base)
    body, content_type = multipart([("image", f"{name}.png", content)])
    connection = socket.create_connection((address.hostname, address.port), timeout=120)
    connection.sendall(f"POST {url} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n".encode())
    return connection, body


def read_answer(connection):
    response = http.client.HTTPResponse(connection)
    response.begin()
    return response.status, response.headers, response.read()


def wait_for_refusals(held, count, timeout=60):
    """{held connection: its answer} once at least `count` of them have been answered before
    sending a body (the last turn's answers may take it past `count`)."""
    answered = {}
    deadline = time.monotonic() + timeout
    while len(answered) < count and time.monotonic() < deadline:
        waiting = {connection: (connection, body) for connection, body in held if (connection, body) not in answered}
        readable, _, _ = select.select(list(waiting), [], [], 1.0)
        for connection in readable:
            answered[waiting[connection]] = read_answer(connection)
    assert len(answered) >= count, [(status, body[:200]) for status, _, body in answered.values()]
    return answered


def send_body_and_read_answer(held):
    connection, body = held
    connection.sendall(body)
    return read_answer(connection)


def form_session(base, page):
    status, headers, body = request(base + page)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    return {"Cookie": headers["Set-Cookie"].split(";")[0], "Referer": base + page}, {"csrfmiddlewaretoken": token}


@pytest.mark.django_db(transaction=True)
def test_an_image_with_a_side_over_the_limit_is_refused_on_both_apis_and_both_forms(active_models):
    strip = png(np.zeros((1, 1001), np.uint8))
    with site_server(DATABASE_URL=harness.test_database_url(), DEEPBOOT_MAX_IMAGE_SIDE="1000") as (base, _):
        for url in APIS:
            status, headers, body = post_files(base + url, [("image", "strip.png", strip)], timeout=60)
            assert status == 400 and headers["Content-Type"] == "application/json"
            assert "1001 x 1 pixels and the limit is 1,000 pixels a side" in json_body(body)["error"]
        for page in PAGES:
            cookie, token = form_session(base, page)
            status, _, body = post_files(base + page, [("image", "strip.png", strip)], fields=token, headers=cookie, timeout=60)
            assert status == 400 and "the limit is 1,000 pixels a side" in body.decode()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_worst_case_uploads_stay_within_a_memory_budget_and_the_site_keeps_answering(
    active_models, worst_cases
):
    env = dict(DEEPBOOT_INFERENCE_CONCURRENCY="2", DEEPBOOT_INFERENCE_QUEUE="2")
    with site_server(DATABASE_URL=harness.test_database_url(), **env) as (base, process):
        for url in APIS:  # warm up: models loaded, each worst case decoded once, allocator sized
            for name, content in worst_cases.items():
                status, _, body = post_files(base + url, [("image", f"{name}.png", content)], timeout=120)
                assert status == 200, (name, body[:300])
        baseline = rss_kib(process.pid) / 1024

        uploads = [(APIS[i % 2], list(worst_cases.items())[i // 2 % 2]) for i in range(12)]
        held = [send_head(base, url, name, content) for url, (name, content) in uploads]
        try:
            refused = wait_for_refusals(held, len(uploads) - 4)  # 2 running and 2 waiting are kept
            admitted = [connection for connection in held if connection not in refused]
            with ThreadPoolExecutor(len(admitted)) as pool:
                answers = pool.map(send_body_and_read_answer, admitted)
                pages = [request(base + "/", timeout=30)[0] for _ in range(3)]  # while the uploads run
                answers = list(answers)
        finally:
            for connection, _ in held:
                connection.close()
        peak = rss_kib(process.pid, "VmHWM") / 1024

    print(f"RSS after warm-up {baseline:.0f} MB, peak {peak:.0f} MB")
    # At most 2 running and 2 waiting are let in; every other upload is refused from its headers.
    # A warm-up upload is answered before the server has finished with it and may still hold a
    # place, so a ninth can be refused, its answer read only after its body was sent (seen in CI:
    # 8 refused, then "1 images are being read and 3 are waiting" for one of the other 4).
    served = [answer for answer in answers if answer[0] == 200]
    assert 2 <= len(served) <= 4, [(status, body[:300]) for status, _, body in answers]
    for status, headers, body in [*refused.values(), *(answer for answer in answers if answer[0] != 200)]:
        assert status == 503 and headers["Retry-After"] == "5" and "busy" in json.loads(body)["error"], body[:300]
    assert pages == [200, 200, 200]
    assert peak - baseline < PEAK_BUDGET_MB, f"peak {peak:.0f} MB, {peak - baseline:.0f} MB over the warmed-up {baseline:.0f} MB"
