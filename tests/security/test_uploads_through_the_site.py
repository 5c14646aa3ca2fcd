"""Every file of the hostile corpus through the real entry points: both image APIs and both pages'
form posts (Django's test client), then the real server: right status, a clear error,
answered within a second, memory bounded, nothing left on disk, the next request still served."""

import html
import http.client
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils.datastructures import CaseInsensitiveMapping

from deepboot_site.uploads import UploadError, read_uploaded_image
from tests import conftest as harness
from tests.image_corpus import HOSTILE, VALID, jpeg
from tests.security.conftest import CLASS_NAMES, DETECTION_CLASSES
from tests.memory import rss_kib
from tests.security.servers import json_body, multipart, post_files, request, site_server

APIS = ["/api/classify/", "/api/detect/"]
PAGES = ["/classify/", "/detect/"]
HTML_MARKER = b"<script>alert(1)</script>"
# The client's timeout for the answer once the request is sent. It tells a cheap refusal (well
# under a second on a quiet machine) from work that scales with the image: a decoded bomb takes
# 13 s and more. It is no speed goal: a second was crossed by a 12 MB upload on a loaded machine,
# and answer times are measured by bench/hostile_load.py.
ANSWER_WITHIN = 5.0


def shared_path_error(files):
    """The message and status the shared validation path gives for these files."""
    data = {}
    for field, name, content in files:
        data.setdefault(field, []).append(SimpleUploadedFile(name, content))
    with pytest.raises(UploadError) as error:
        read_uploaded_image(RequestFactory().post("/", data))
    return error.value.message, error.value.status


def post(client, url, files):
    data = {}
    for field, name, content in files:
        data.setdefault(field, []).append(SimpleUploadedFile(name, content))
    return client.post(url, data)


BAD_REQUESTS = {
    **{name: [("image", filename, content)] for name, (content, filename, _) in HOSTILE.items()},
    "no image field": [("photo", "a.jpg", jpeg())],
    "two image fields": [("image", "a.jpg", jpeg()), ("image", "b.jpg", jpeg())],
}


def expected_status(name):
    return HOSTILE[name][2] if name in HOSTILE else 400


# ---------------------------------------------------------------------------------------------
# Through the views


@pytest.mark.django_db
@pytest.mark.parametrize("url", APIS)
@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_apis_refuse_each_bad_upload_with_a_clear_json_error(client, active_models, url, name):
    response = post(client, url, BAD_REQUESTS[name])
    message, status = shared_path_error(BAD_REQUESTS[name])
    assert response.status_code == status == expected_status(name)
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message}


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_pages_show_each_bad_upload_as_a_clear_error(client, active_models, url, name):
    response = post(client, url, BAD_REQUESTS[name])
    message, status = shared_path_error(BAD_REQUESTS[name])
    assert response.status_code == status
    body = response.content.decode()
    assert html.escape(message) in body or message in body
    assert HTML_MARKER.decode() not in body, "an uploaded HTML file is never echoed into the page"


def check_valid_answer(url, data, size):
    """What each API answers for a readable image: the classifier's labels, or the detector's
    boxes in the pixels of the image as it is viewed (EXIF orientation applied)."""
    if url == "/api/classify/":
        predictions = data["predictions"]
        assert predictions["cnn9"] and {p["label"] for p in predictions["average"]} <= set(CLASS_NAMES)
    else:
        assert (data["width"], data["height"]) == size
        for detection in data["detections"]:
            assert detection["label"] in DETECTION_CLASSES
            x0, y0, x1, y1 = detection["box"]
            assert 0 <= x0 <= x1 <= size[0] and 0 <= y0 <= y1 <= size[1]


@pytest.mark.django_db
@pytest.mark.parametrize("url", APIS)
@pytest.mark.parametrize("name", sorted(VALID))
def test_apis_handle_awkward_but_valid_images(client, active_models, url, name):
    content, filename, size = VALID[name]
    response = post(client, url, [("image", filename, content)])
    assert response.status_code == 200, response.content[:300]
    check_valid_answer(url, response.json(), size)


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("name", sorted(VALID))
def test_pages_handle_awkward_but_valid_images(client, active_models, url, name):
    content, filename, _ = VALID[name]
    response = post(client, url, [("image", filename, content)])
    assert response.status_code == 200
    assert "error" not in response.context or not response.context["error"]
    assert response.context["result"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize("url", APIS + PAGES)
def test_uploads_spooled_to_disk_are_removed_after_the_request(client, active_models, settings, tmp_path, url):
    """Every upload over 1 KB goes through a temporary file here; none is left behind."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    for files in [*BAD_REQUESTS.values(), [("image", "ok.jpg", jpeg((300, 200)))]]:
        post(client, url, files)
        assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Through the real server


def post_and_wait(base, path, files, answer_within, chunked=False, fields=None, headers=None):
    """POST a multipart upload, then wait at most `answer_within` seconds for the answer once the
    body is sent (sending 12 MB on a busy machine is the client's time, not the server's).
    With chunked=True the body goes with Transfer-Encoding: chunked and no Content-Length."""
    body, content_type = multipart(files, fields)
    headers = {"Content-Type": content_type, **(headers or {})}
    parsed = urlparse(base)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        if chunked:
            chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
            connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", path, body=body, headers=headers)
        connection.sock.settimeout(answer_within)
        response = connection.getresponse()
        return response.status, CaseInsensitiveMapping(response.getheaders()), response.read()
    finally:
        connection.close()


def form_session(base, page):
    """What a browser holds after opening a page: (its CSRF cookie header, the form's token)."""
    status, headers, body = request(base + page)
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    return {"Cookie": cookie}, {"csrfmiddlewaretoken": token}


def files_under(folder):
    return {p for p in Path(folder).rglob("*") if p.is_file()}


# The memory check. The server's resident size after a round of the corpus is noisy: glibc keeps
# freed 12 MB request buffers in whichever thread's arena served them, so it steps up and down by
# 12-25 MB from round to round, and it can creep up for several rounds while arenas fill (seen:
# +76 MB over 10 rounds, then flat over 25). A leak instead raises the floor round after round, and a
# decoded bomb raises the peak by gigabytes. So, after the warm-up rounds, the lowest size of the
# last half of the rounds is compared with the lowest of the first half (a leak of about 10 MB per
# round of the corpus, some 100 KB per request, crosses the bound), and the peak with a budget.
WARM_UP_ROUNDS = 2
MEASURED_ROUNDS = 8
FLOOR_GROWTH_BOUND_MB = 40
PEAK_BUDGET_MB = 512


def check_memory_bounded(rss, peak):
    """`rss` and `peak` (VmHWM): the server's sizes in MB after each round, warm-up rounds first."""
    measured = rss[WARM_UP_ROUNDS:]
    half = len(measured) // 2
    floor_growth = min(measured[half:]) - min(measured[:half])
    assert floor_growth < FLOOR_GROWTH_BOUND_MB, (
        f"server memory leaks: its lowest size rose by {floor_growth:.0f} MB between the first and the last "
        f"{half} rounds of the corpus"
    )
    peak_rise = peak[-1] - rss[WARM_UP_ROUNDS - 1]
    assert peak_rise < PEAK_BUDGET_MB, f"an upload cost {peak_rise:.0f} MB at its peak, over the {PEAK_BUDGET_MB} MB budget"


@pytest.mark.django_db(transaction=True)
def test_real_server_answers_every_upload_of_the_corpus_promptly_with_bounded_memory(active_models, tmp_path):
    upload_tmp = tmp_path / "tmp"
    upload_tmp.mkdir()
    media_before = files_under(settings.MEDIA_ROOT)
    with site_server(DATABASE_URL=harness.test_database_url(), TMPDIR=upload_tmp) as (base, process):
        for url in APIS:  # warm up: TensorFlow imported and the model loaded before we measure
            status, _, body = post_files(base + url, [("image", "ok.jpg", jpeg())], timeout=120)
            assert status == 200, body[:300]
        rss, peak = [], []  # after each round of the corpus
        for _ in range(WARM_UP_ROUNDS + MEASURED_ROUNDS):
            for url in APIS:
                for name, files in sorted(BAD_REQUESTS.items()):
                    try:
                        status, headers, body = post_and_wait(base, url, files, ANSWER_WITHIN)
                    except TimeoutError:
                        pytest.fail(f"{name} to {url}: no answer within {ANSWER_WITHIN} s")
                    assert status == expected_status(name), (name, body[:200])
                    assert "error" in json_body(body) and headers["Content-Type"] == "application/json"
                for name, (content, filename, size) in sorted(VALID.items()):
                    try:
                        status, _, body = post_and_wait(base, url, [("image", filename, content)], ANSWER_WITHIN)
                    except TimeoutError:
                        pytest.fail(f"{name} to {url}: no answer within {ANSWER_WITHIN} s")
                    assert status == 200, (name, body[:200])
                    check_valid_answer(url, json_body(body), size)
                status, _, body = post_and_wait(base, url, [("image", "a.jpg", jpeg())], ANSWER_WITHIN, chunked=True)
                assert status == 411 and "Content-Length" in json_body(body)["error"]
                # A 12 MB chunked body is refused from its headers too (a proxy in front should cap
                # bodies as well, see SECURITY.md).
                status, _, body = post_and_wait(base, url, BAD_REQUESTS["12 MB file"], 10, chunked=True)
                assert status == 411
                status, _, body = post_files(base + url, [("image", "ok.jpg", jpeg())], timeout=30)
                assert status == 200, "the next request is served"
            for page in PAGES:  # the forms, as a browser posts them (cookie and token)
                cookie, token = form_session(base, page)
                for name, files in sorted(BAD_REQUESTS.items()):
                    try:
                        status, _, body = post_and_wait(base, page, files, ANSWER_WITHIN, fields=token, headers=cookie)
                    except TimeoutError:
                        pytest.fail(f"{name} to {page}: no answer within {ANSWER_WITHIN} s")
                    message, expected = shared_path_error(files)
                    assert status == expected, (name, page, body[:300])
                    assert html.escape(message) in body.decode(), (name, page)
            rss.append(rss_kib(process.pid) / 1024)
            peak.append(rss_kib(process.pid, "VmHWM") / 1024)
        assert request(base + "/")[0] == 200
    print("server RSS after each round of the corpus (MB):", [round(m) for m in rss], "peak:", [round(m) for m in peak])
    check_memory_bounded(rss, peak)
    assert [p.name for p in upload_tmp.iterdir()] == [], "temporary upload files are removed"
    for path in files_under(settings.MEDIA_ROOT) - media_before:
        # Stored images (if an app keeps any) have random names and an image extension, never HTML.
        assert path.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"}, path
        assert HTML_MARKER not in path.read_bytes()
    for path in files_under(settings.VAR_DIR):
        if path.suffix not in {".sqlite3", ".keras", ".log"} and path.stat().st_size < 50_000_000:
            assert HTML_MARKER not in path.read_bytes(), f"an uploaded HTML file was written to {path}"


@pytest.mark.django_db(transaction=True)
def test_media_is_not_served_at_all(asgi_server):
    """Even a file placed in MEDIA_ROOT is not served by the site (no /media/ route)."""
    planted = Path(settings.MEDIA_ROOT) / "planted.html"
    planted.write_bytes(HTML_MARKER)
    try:
        for path in ("/media/planted.html", "/static/../media/planted.html", "/static/%2e%2e/media/planted.html"):
            status, _, body = request(asgi_server + path)
            assert status == 404 and HTML_MARKER not in body
    finally:
        os.remove(planted)


def test_memory_check_passes_allocator_noise_and_fails_a_leak():
    """The series are sizes this server really showed (MB); the leak adds 12 MB a round to one."""
    creeping = [716, 746, 747, 747, 747, 759, 772, 780, 780, 792]
    oscillating = [709, 745, 710, 734, 734, 734, 734, 754, 779, 779]
    for rss in (creeping, oscillating):
        check_memory_bounded(rss, peak=[size + 200 for size in rss])
    leaking = [size + 12 * round_ for round_, size in enumerate(oscillating)]
    with pytest.raises(AssertionError, match="leaks"):
        check_memory_bounded(leaking, peak=[size + 200 for size in leaking])
    with pytest.raises(AssertionError, match="budget"):
        check_memory_bounded(oscillating, peak=[*oscillating[:-1], 745 + 1750])
