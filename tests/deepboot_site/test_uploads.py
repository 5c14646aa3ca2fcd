"""The one upload validation path: every hostile file refused with the right status, every
awkward-but-valid image read as RGB in its viewing orientation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from deepboot_site.uploads import UploadError, read_uploaded_image
from tests.image_corpus import HOSTILE, VALID, jpeg


def upload_request(files):
    """A multipart POST; `files` is a list of (field, filename, bytes)."""
    data = {}
    for field, name, content in files:
        data.setdefault(field, []).append(SimpleUploadedFile(name, content))
    return RequestFactory().post("/api/", data)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_clear_status(name):
    content, filename, status = HOSTILE[name]
    with pytest.raises(UploadError) as error:
        read_uploaded_image(upload_request([("image", filename, content)]))
    assert error.value.status == status
    assert len(error.value.message) > 10


@pytest.mark.parametrize("name", sorted(VALID))
def test_awkward_valid_images_are_read_as_rgb_in_viewing_orientation(name):
    content, filename, size = VALID[name]
    image = read_uploaded_image(upload_request([("image", filename, content)]))
    assert image.mode == "RGB" and image.size == size


def test_missing_image_field_is_refused():
    with pytest.raises(UploadError, match="No image was sent") as error:
        read_uploaded_image(upload_request([("photo", "a.jpg", jpeg())]))
    assert error.value.status == 400


def test_two_image_fields_are_refused():
    with pytest.raises(UploadError, match="one image at a time"):
        read_uploaded_image(upload_request([("image", "a.jpg", jpeg()), ("image", "b.jpg", jpeg())]))


def test_pixel_limit_follows_the_setting(settings):
    settings.DEEPBOOT_MAX_IMAGE_PIXELS = 1000
    with pytest.raises(UploadError, match="too many pixels"):
        read_uploaded_image(upload_request([("image", "a.jpg", jpeg((64, 48)))]))


def test_a_chunked_body_without_content_length_is_refused_with_411():
    request = upload_request([("image", "a.jpg", jpeg())])
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    with pytest.raises(UploadError, match="Content-Length") as error:
        read_uploaded_image(request)
    assert error.value.status == 411
