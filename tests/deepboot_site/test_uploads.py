"""The one upload validation path: every hostile file refused with the right status, every
awkward-but-valid image read as RGB in its viewing orientation."""

import io
import os
import signal

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from PIL import Image

from deepboot_site.uploads import WORKING_SIDE, UploadError, read_uploaded_image, source_size
from tests.image_corpus import HOSTILE, VALID, jpeg


def upload_request(files):
    """A multipart POST; `files` is a list of (field, filename, bytes)."""
    data = {}
    for field, name, content in files:
        data.setdefault(field, []).append(SimpleUploadedFile(name, content))
    return RequestFactory().post("/api/", data)


@pytest.fixture(params=["in memory", "on disk"])
def kept(request, settings):
    """Where Django keeps the upload: in memory (its bytes go to the decoder) or, past
    FILE_UPLOAD_MAX_MEMORY_SIZE, in a temporary file (only its path goes)."""
    if request.param == "on disk":
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    return request.param


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_with_a_clear_status(name, kept):
    content, filename, status = HOSTILE[name]
    with pytest.raises(UploadError) as error:
        read_uploaded_image(upload_request([("image", filename, content)]))
    assert error.value.status == status
    assert len(error.value.message) > 10


@pytest.mark.parametrize("name", sorted(VALID))
def test_awkward_valid_images_are_read_as_rgb_in_viewing_orientation(name, kept):
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


def png_of(mode, size):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_image_with_a_side_over_the_limit_is_refused_from_its_header(settings):
    settings.DEEPBOOT_MAX_IMAGE_SIDE = 1000
    with pytest.raises(UploadError, match="limit is 1,000 pixels a side") as error:
        read_uploaded_image(upload_request([("image", "strip.png", png_of("L", (1001, 1)))]))
    assert error.value.status == 400


def test_a_thin_strip_within_the_pixel_count_is_refused_for_its_side():
    with pytest.raises(UploadError, match="pixels a side"):
        read_uploaded_image(upload_request([("image", "strip.png", png_of("I;16", (1, 39_000_000 // 3000)))]))


def test_a_large_upload_is_worked_on_shrunk_and_keeps_its_source_size(kept):
    image = read_uploaded_image(upload_request([("image", "big.jpg", jpeg((4000, 3000)))]))
    assert WORKING_SIDE <= max(image.size) < 2 * WORKING_SIDE
    assert source_size(image) == (4000, 3000)


def test_an_upload_on_disk_is_decoded_to_the_same_pixels_as_one_in_memory(settings):
    content = jpeg((2500, 1500))
    in_memory = read_uploaded_image(upload_request([("image", "a.jpg", content)]))
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    on_disk = read_uploaded_image(upload_request([("image", "a.jpg", content)]))
    assert np.array_equal(np.asarray(on_disk), np.asarray(in_memory))


def test_a_decoder_that_dies_on_an_image_refuses_it_and_the_next_one_is_read(monkeypatch):
    from deepboot import decoding
    from deepboot_site import uploads

    pool = decoding.DecodePool(1)
    monkeypatch.setattr(uploads, "_decoder", pool)
    try:
        (started,) = pool.start()
        os.kill(started.result(timeout=60), signal.SIGKILL)
        with pytest.raises(UploadError, match="truncated or corrupt") as error:
            read_uploaded_image(upload_request([("image", "a.jpg", jpeg())]))
        assert error.value.status == 400
        assert read_uploaded_image(upload_request([("image", "a.jpg", jpeg((64, 48)))])).size == (64, 48)
    finally:
        pool.stop()


def test_a_small_upload_is_its_own_source_size():
    image = read_uploaded_image(upload_request([("image", "small.jpg", jpeg((64, 48)))]))
    assert image.size == source_size(image) == (64, 48)


@pytest.mark.parametrize(
    "length, encoding, status",
    [(None, "chunked", 411), ("abc", "", 400), (str(10 * 1024 * 1024), "", 413), ("1000", "", None), (None, "", None)],
)
def test_the_body_size_rule_reads_only_the_headers(settings, length, encoding, status):
    from deepboot_site.uploads import body_refusal

    settings.DEEPBOOT_MAX_UPLOAD_BYTES = 1024 * 1024
    refusal = body_refusal(length, encoding)
    assert (refusal[0] if refusal else None) == status
