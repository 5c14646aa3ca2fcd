"""POST /api/detect/ and the /detect/ page: bad inputs, EXIF orientation, the threshold, no model."""

import io
import json
import re
import struct
import zlib

import numpy as np
import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

URL = "/api/detect/"


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()  # the per-client API rate limit counts in the cache
    yield
    cache.clear()


def scene_bytes(demo_scenes, index=0, fmt="JPEG", **save):
    from detector import voc

    image_id = voc.split_ids(demo_scenes, "train")[index]
    image = Image.open(demo_scenes / "JPEGImages" / f"{image_id}.jpg").convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return image, buffer.getvalue()


def post(client, data, **fields):
    upload = io.BytesIO(data)
    upload.name = "photo.jpg"
    return client.post(URL, {"image": upload, **fields})


def huge_png_header(width=9000, height=6000):
    """A PNG whose header claims width × height pixels (54 MP) but holds almost nothing."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


@pytest.mark.django_db
def test_no_active_model_is_a_503_naming_the_command(client, demo_scenes):
    _, data = scene_bytes(demo_scenes)
    response = post(client, data)
    assert response.status_code == 503
    assert "manage.py bootstrap" in response.json()["error"]


def test_detections_have_the_documented_shape(client, active_detector, demo_scenes):
    image, data = scene_bytes(demo_scenes)
    response = post(client, data, threshold="0.05")
    assert response.status_code == 200
    body = response.json()
    assert (body["width"], body["height"]) == image.size
    assert isinstance(body["latency_ms"], float) and body["latency_ms"] > 0
    assert body["detections"], "the trained detector finds something in a training scene"
    for detection in body["detections"]:
        assert set(detection) == {"label", "label_display", "score", "box"}
        assert detection["label"] in active_detector.class_names
        assert 0.05 <= detection["score"] <= 1
        x0, y0, x1, y1 = detection["box"]
        assert 0 <= x0 <= x1 <= image.width and 0 <= y0 <= y1 <= image.height
    scores = [d["score"] for d in body["detections"]]
    assert scores == sorted(scores, reverse=True)


def test_threshold_filters_the_detections(client, active_detector, demo_scenes):
    _, data = scene_bytes(demo_scenes)
    everything = post(client, data, threshold="0").json()["detections"]
    some = post(client, data, threshold="0.2").json()["detections"]
    default = post(client, data).json()["detections"]
    assert len(everything) > len(some)
    assert some == [d for d in everything if d["score"] >= 0.2]
    assert default == [d for d in everything if d["score"] >= 0.25]
    assert post(client, data, threshold="1").json()["detections"] == [
        d for d in everything if d["score"] >= 1
    ]


@pytest.mark.parametrize("value", ["abc", "-0.1", "1.01", "nan", "inf", "", "0.5.1"])
def test_threshold_outside_0_1_or_not_a_number_is_a_400(client, active_detector, demo_scenes, value):
    _, data = scene_bytes(demo_scenes)
    response = post(client, data, threshold=value)
    assert response.status_code == 400
    assert "threshold" in response.json()["error"]


def test_boxes_are_in_the_pixels_of_the_image_after_exif_orientation(client, active_detector, demo_scenes):
    upright, _ = scene_bytes(demo_scenes, index=1)
    # The same pixels stored rotated (lossless PNG), with EXIF orientation 6: "rotate 90° clockwise to view".
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated, plain = io.BytesIO(), io.BytesIO()
    stored.save(rotated, "PNG", exif=exif.tobytes())
    upright.save(plain, "PNG")
    rotated_answer = post(client, rotated.getvalue(), threshold="0.05").json()
    upright_answer = post(client, plain.getvalue(), threshold="0.05").json()
    no_exif = io.BytesIO()
    stored.save(no_exif, "PNG")
    sideways_answer = post(client, no_exif.getvalue(), threshold="0.05").json()
    assert (rotated_answer["width"], rotated_answer["height"]) == upright.size != stored.size
    assert rotated_answer["detections"] == upright_answer["detections"] != []
    # Without the tag the picture is taken as it is stored: other size, other boxes.
    assert (sideways_answer["width"], sideways_answer["height"]) == stored.size
    assert sideways_answer["detections"] != upright_answer["detections"]


@pytest.mark.parametrize(
    "payload, status",
    [
        (b"this is not an image at all", 400),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, 400),  # a JPEG header and nothing after
        (huge_png_header(), 400),  # 54 megapixels claimed
    ],
    ids=["not-an-image", "corrupt", "too-many-pixels"],
)
def test_bad_uploads_are_4xx_with_a_json_error(client, active_detector, payload, status):
    response = post(client, payload)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]


def test_truncated_jpeg_is_refused(client, active_detector, demo_scenes):
    _, data = scene_bytes(demo_scenes)
    response = post(client, data[: len(data) // 2])
    assert response.status_code == 400 and "error" in response.json()


def test_over_10_mb_is_a_413(client, active_detector):
    response = post(client, b"\xff\xd8" + b"\x00" * (10 * 1024 * 1024 + 10))
    assert response.status_code == 413
    assert response.json()["error"]


def test_missing_image_and_wrong_method(client, active_detector):
    response = client.post(URL, {"threshold": "0.5"})
    assert response.status_code == 400 and "image" in response.json()["error"]
    response = client.get(URL)
    assert response.status_code == 405 and response.json()["error"]


def test_png_with_alpha_is_accepted(client, active_detector, demo_scenes):
    image, _ = scene_bytes(demo_scenes)
    buffer = io.BytesIO()
    image.convert("RGBA").save(buffer, "PNG")
    response = post(client, buffer.getvalue())
    assert response.status_code == 200 and response.json()["width"] == image.width


def test_api_is_csrf_exempt_but_the_page_form_is_not(active_detector, demo_scenes):
    strict = Client(enforce_csrf_checks=True)
    _, data = scene_bytes(demo_scenes)
    assert post(strict, data).status_code == 200
    upload = io.BytesIO(data)
    upload.name = "photo.jpg"
    assert strict.post("/detect/", {"image": upload}).status_code == 403


def test_page_offers_the_file_input_slider_and_samples_without_inline_code(client, active_detector):
    response = client.get("/detect/")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<input type="file" name="image"', html)
    assert 'type="range" name="threshold"' in html
    assert 'name="sample"' in html  # held-out scenes of the model's data
    assert "<script>" not in html and not re.search(r"\son[a-z]+=", html) and " style=" not in html
    assert json.loads(re.search(r'data-classes="([^"]*)"', html).group(1).replace("&quot;", '"')) == list(
        active_detector.class_names
    )


def test_page_form_post_draws_labelled_boxes_without_javascript(client, active_detector, demo_scenes):
    _, data = scene_bytes(demo_scenes)
    upload = io.BytesIO(data)
    upload.name = "scene.jpg"
    response = client.post("/detect/", {"image": upload, "threshold": "0.05"})
    html = response.content.decode()
    assert response.status_code == 200
    boxes = re.findall(r'data-box="(\[[^"]*\])" data-label="([^"]+)"', html)
    assert boxes
    for box, label in boxes:
        assert len(json.loads(box)) == 4 and label in active_detector.class_names
    assert "data:image/jpeg;base64," in html


def test_page_post_of_a_sample_and_of_a_bad_file(client, active_detector):
    response = client.post("/detect/", {"sample": "0", "threshold": "0.05"})
    assert response.status_code == 200 and "data-box=" in response.content.decode()
    upload = io.BytesIO(b"not an image")
    upload.name = "x.jpg"
    response = client.post("/detect/", {"image": upload})
    assert response.status_code == 400 and "not an image" in response.content.decode()


def test_sample_images_are_served_and_unknown_ones_404(client, active_detector):
    response = client.get("/detect/samples/0.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    Image.open(io.BytesIO(response.content)).verify()
    assert client.get("/detect/samples/999.jpg").status_code == 404
    assert post(client, b"", sample="999").status_code in (400, 404)


@pytest.mark.django_db
def test_page_without_a_model_says_which_command_to_run(client):
    response = client.get("/detect/")
    assert response.status_code == 200
    assert "manage.py bootstrap" in response.content.decode()


@pytest.mark.django_db
def test_models_page_invites_training_yolo26(client, active_detector):
    html = client.get("/models/").content.decode()
    assert "train_detector --variant yolo26" in html
    assert "fetch_dataset voc2007" in html
