"""The /classify/ page: the form, samples, server-rendered results without JavaScript, errors."""

import base64
import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.image_corpus import HOSTILE, exif_rotated_jpeg, jpeg


@pytest.fixture(autouse=True)
def generous_rate(settings):
    settings.DEEPBOOT_API_RATE = "100000/m"


def test_page_has_the_file_input_and_loads_its_script_without_inline_code(client, db):
    body = client.get("/classify/").content.decode()
    assert re.search(r'<input type="file" name="image"', body)
    assert 'enctype="multipart/form-data"' in body and "csrfmiddlewaretoken" in body
    assert re.search(r'<script src="[^"]*classifier/classify[^"]*\.js" defer>', body)
    assert not re.search(r"<script>|\son[a-z]+=\"|\sstyle=\"", body)


def test_page_without_models_says_which_command_to_run(client, db):
    body = client.get("/classify/").content.decode()
    assert 'data-testid="unavailable"' in body and "python manage.py bootstrap" in body


@pytest.mark.django_db
def test_plain_form_post_renders_every_network_and_the_average_with_heat_maps(client, two_models):
    response = client.post("/classify/", {"image": SimpleUploadedFile("a.jpg", jpeg((90, 60))), "gradcam": "1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="results"' in body
    for model in ("cnn9", "vgg16", "average"):
        assert f'data-model="{model}"' in body
    assert 'data-model="resnet152"' not in body
    assert body.count("<meter") == 15 and body.count("data:image/png;base64,") == 2
    assert body.count("data-latency") == 2


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["text renamed .jpg", "truncated jpeg", "png decompression bomb", "12 MB file"])
def test_bad_uploads_show_a_clear_message_on_the_page(client, two_models, name):
    content, filename, status = HOSTILE[name]
    response = client.post("/classify/", {"image": SimpleUploadedFile(filename, content)})
    assert response.status_code == status
    body = response.content.decode()
    assert 'data-testid="error"' in body and 'data-testid="results"' not in body
    message = re.search(r'data-testid="error"[^>]*>([^<]+)<', body).group(1)
    assert len(html.unescape(message).strip()) > 10


@pytest.mark.django_db
def test_samples_from_the_test_split_are_listed_served_and_classified(client, two_models):
    body = client.get("/classify/").content.decode()
    indexes = re.findall(r'name="sample" value="(\d+)"', body)
    assert len(indexes) == 6  # the test split: one image per class
    image = client.get(f"/classify/samples/{indexes[0]}.jpg")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).format == "JPEG"
    assert client.get("/classify/samples/99.jpg").status_code == 404
    response = client.post("/classify/", {"sample": indexes[1]})
    assert response.status_code == 200 and 'data-model="average"' in response.content.decode()


@pytest.mark.django_db
def test_the_page_shows_the_upload_in_its_exif_orientation(client, two_models):
    response = client.post("/classify/", {"image": SimpleUploadedFile("p.jpg", exif_rotated_jpeg())})
    preview = re.search(r'src="data:image/jpeg;base64,([^"]+)"', response.content.decode()).group(1)
    assert Image.open(io.BytesIO(base64.b64decode(preview))).size == (40, 80)


@pytest.mark.django_db
def test_a_broken_model_file_is_a_503_naming_the_command(client, two_models):
    from registry import registry

    record = two_models["cnn9"]
    registry.absolute_path(record.path).rename(registry.absolute_path(record.path).with_suffix(".moved"))
    try:
        registry.clear_cache()
        response = client.post("/api/classify/", {"image": SimpleUploadedFile("a.jpg", jpeg())})
        # vgg16 still answers; the broken slot is named on the page
        assert response.status_code == 200 and set(response.json()["predictions"]) == {"vgg16", "average"}
        page = client.post("/classify/", {"image": SimpleUploadedFile("a.jpg", jpeg())}).content.decode()
        assert "Run: python manage.py" in page
    finally:
        registry.absolute_path(record.path).with_suffix(".moved").rename(registry.absolute_path(record.path))


@pytest.mark.django_db
def test_plain_form_post_without_the_grad_cam_box_computes_no_heat_map(client, two_models):
    response = client.post("/classify/", {"image": SimpleUploadedFile("a.jpg", jpeg((90, 60)))})
    body = response.content.decode()
    assert response.status_code == 200 and body.count("data-latency") == 2
    assert "data:image/png;base64," not in body and "data-gradcam>" in body
