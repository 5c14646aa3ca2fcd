"""The glue the classify and detect views share: the /api/ wrapper and the image of a form."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from deepboot_site.image_views import api_view, image_from_form, run_form
from deepboot_site.uploads import UploadError
from registry.registry import ModelUnavailable
from tests.image_corpus import jpeg


@api_view("test-api")
def echo(request):
    if request.POST.get("fail") == "model":
        raise ModelUnavailable("No model.")
    raise UploadError("Bad upload.", status=415)


def test_the_api_wrapper_answers_other_methods_405_as_json(rf):
    response = echo(rf.get("/api/echo/"))
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "POST" in json.loads(response.content)["error"]


@pytest.mark.parametrize("fail, status, message", [("upload", 415, "Bad upload."), ("model", 503, "No model.")])
def test_the_api_wrapper_answers_refusals_as_json_errors(rf, fail, status, message):
    response = echo(rf.post("/api/echo/", {"fail": fail}))
    assert response.status_code == status
    assert json.loads(response.content) == {"error": message}


def test_the_api_wrapper_is_rate_limited(rf, settings):
    settings.DEEPBOOT_API_RATE = "2/m"
    statuses = [echo(rf.post("/api/echo/", REMOTE_ADDR="10.9.8.7")).status_code for _ in range(3)]
    assert statuses == [415, 415, 429]


def test_a_chosen_sample_is_used_when_no_file_is_sent(rf):
    sample = Image.new("RGB", (8, 8))
    assert image_from_form(rf.post("/classify/", {"sample": "3"}), {3: sample}.get) is sample


@pytest.mark.parametrize("index", ["7", "x"])
def test_an_unknown_sample_is_a_404_refusal(rf, index):
    with pytest.raises(UploadError) as error:
        image_from_form(rf.post("/classify/", {"sample": index}), {3: object()}.get)
    assert error.value.status == 404


def test_an_uploaded_file_wins_over_a_sample(rf):
    request = rf.post("/classify/", {"sample": "3", "image": SimpleUploadedFile("a.jpg", jpeg((20, 10)))})
    assert image_from_form(request, {3: None}.get).size == (20, 10)


def test_a_refused_form_post_shows_its_message_with_its_status():
    context = {}

    def work():
        raise UploadError("No such sample image.", status=404)

    assert run_form(context, work) == 404
    assert context["error"] == "No such sample image."
    assert run_form({}, lambda: None) == 200
