"""POST /api/classify/: the JSON contract, only active networks, every bad input, 503 without models."""

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.classifier.conftest import png_is_valid, register_trained
from tests.image_corpus import HOSTILE, VALID, exif_rotated_jpeg, jpeg, png_bomb

URL = "/api/classify/"
CLASSES = {"checker", "circle", "square", "star", "stripes", "triangle"}


@pytest.fixture(autouse=True)
def generous_rate(settings):
    settings.DEEPBOOT_API_RATE = "100000/m"


def post(client, content, name="a.jpg", **extra):
    return client.post(URL, {"image": SimpleUploadedFile(name, content), **extra})


def check_top5(predictions):
    assert len(predictions) == 5
    probabilities = [p["probability"] for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(isinstance(p["label"], str) and isinstance(p["probability"], float) for p in predictions)
    assert {p["label"] for p in predictions} <= CLASSES and len({p["label"] for p in predictions}) == 5
    assert 0 < sum(probabilities) <= 1.0001


@pytest.mark.django_db
def test_answer_has_each_active_network_the_average_and_latencies(client, two_models):
    response = post(client, jpeg((120, 80), (30, 200, 40)))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = response.json()
    assert set(data) == {"predictions", "latency_ms", "layers", "model_ids"}
    assert data["layers"] == {arch: record.layers for arch, record in two_models.items()}
    assert data["model_ids"] == {arch: record.pk for arch, record in two_models.items()}
    assert set(data["predictions"]) == {"cnn9", "vgg16", "average"}  # resnet152 is not active
    for predictions in data["predictions"].values():
        check_top5(predictions)
    assert set(data["latency_ms"]) == {"cnn9", "vgg16"}
    assert all(isinstance(v, float) and v > 0 for v in data["latency_ms"].values())


@pytest.mark.django_db
def test_the_average_is_the_mean_of_the_networks_probabilities(client, two_models):
    from classifier import service

    image = Image.new("RGB", (50, 50), (200, 20, 20))
    result = service.classify(image)
    loaded, _ = service.active_models()
    import numpy as np

    outputs = [np.asarray(entry.model.predict_on_batch(service.input_array(image, (32, 32))))[0] for _, entry in loaded]
    mean = np.mean(outputs, axis=0)
    names = loaded[0][1].record.class_names
    expected = sorted(((float(mean[i]), names[i]) for i in range(len(names))), reverse=True)[:5]
    assert [p.label for p in result.average] == [label for _, label in expected]
    assert [p.probability for p in result.average] == pytest.approx([value for value, _ in expected], abs=1e-5)


@pytest.mark.django_db
def test_gradcam_on_request_gives_one_png_heat_map_per_network(client, two_models):
    data = post(client, jpeg((64, 64)), gradcam="1").json()
    assert set(data["gradcam"]) == {"cnn9", "vgg16"}
    for url in data["gradcam"].values():
        assert url.startswith("data:image/png;base64,")
        assert png_is_valid(base64.b64decode(url.split(",", 1)[1]))


@pytest.mark.django_db
def test_predictions_with_gradcam_are_those_without_it(client, two_models):
    image = jpeg((64, 64), color=(30, 160, 90))
    plain, with_maps = post(client, image).json(), post(client, image, gradcam="1").json()
    assert "gradcam" not in plain
    for arch in ("cnn9", "vgg16", "average"):
        assert [p["label"] for p in with_maps["predictions"][arch]] == [p["label"] for p in plain["predictions"][arch]]
        assert [p["probability"] for p in with_maps["predictions"][arch]] == pytest.approx(
            [p["probability"] for p in plain["predictions"][arch]], abs=1e-5
        )


@pytest.mark.django_db
def test_only_active_networks_answer(client, trained):
    register_trained(trained, ("vgg16",))
    assert set(post(client, jpeg()).json()["predictions"]) == {"vgg16", "average"}


@pytest.mark.django_db
def test_without_active_models_it_answers_503_naming_the_command(client):
    response = post(client, jpeg())
    assert response.status_code == 503
    assert "python manage.py bootstrap" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_bad_uploads_get_a_4xx_and_a_json_error(client, two_models, name):
    content, filename, status = HOSTILE[name]
    response = post(client, content, filename)
    assert response.status_code == status
    assert response.json()["error"] and "Traceback" not in response.json()["error"]


@pytest.mark.django_db
def test_more_than_40_megapixels_is_refused(client, two_models):
    response = post(client, png_bomb(8000, 5001), "huge.png")
    assert response.status_code == 400 and "megapixels" in response.json()["error"]


@pytest.mark.django_db
def test_an_unsupported_format_is_refused_with_415(client, two_models):
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "PPM")
    response = post(client, buffer.getvalue(), "x.ppm")
    assert response.status_code == 415 and "Unsupported image format" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(VALID))
def test_awkward_but_valid_images_are_classified(client, two_models, name):
    content, filename, _ = VALID[name]
    response = post(client, content, filename)
    assert response.status_code == 200, response.content[:200]
    check_top5(response.json()["predictions"]["average"])


@pytest.mark.django_db
def test_missing_field_two_files_and_get_are_refused(client, two_models):
    assert client.post(URL, {}).status_code == 400
    two = client.post(URL, {"image": [SimpleUploadedFile("a.jpg", jpeg()), SimpleUploadedFile("b.jpg", jpeg())]})
    assert two.status_code == 400 and "one image at a time" in two.json()["error"]
    get = client.get(URL)
    assert get.status_code == 405 and "POST" in get.json()["error"]


@pytest.mark.django_db
def test_the_api_needs_no_csrf_token(two_models):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(URL, {"image": SimpleUploadedFile("a.jpg", jpeg())}).status_code == 200
    assert strict.post("/classify/", {"image": SimpleUploadedFile("a.jpg", jpeg())}).status_code == 403


@pytest.mark.django_db
def test_a_sample_of_the_test_split_can_be_classified_by_index(client, two_models):
    assert set(client.post(URL, {"sample": "0"}).json()["predictions"]) == {"cnn9", "vgg16", "average"}
    missing = client.post(URL, {"sample": "999"})
    assert missing.status_code == 404 and missing.json()["error"] == "No such sample image."
    assert client.post(URL, {"sample": "x"}).status_code == 404


@pytest.mark.django_db
def test_exif_orientation_is_honoured_before_classifying(two_models, monkeypatch):
    from classifier import service

    seen = []
    original = service.input_array
    monkeypatch.setattr(service, "input_array", lambda image, size: seen.append(image.size) or original(image, size))
    from django.test import Client

    assert Client().post(URL, {"image": SimpleUploadedFile("p.jpg", exif_rotated_jpeg())}).status_code == 200
    assert seen and set(seen) == {(40, 80)}  # stored 80x40, viewed 40x80
