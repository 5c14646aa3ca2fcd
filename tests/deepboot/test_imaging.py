"""deepboot/imaging.py: deep images to 8 bits without float64 copies, shrinking before
conversion, and the EXIF orientation applied to the shrunk copy."""

import io

import numpy as np
import pytest
from PIL import Image

from deepboot.imaging import deep_to_8bit, draft_for, to_rgb, viewed_size, working_rgb


def stretched(values):
    """The reference: min-max stretch to 0-255 in float64, truncated (what to_rgb used to do)."""
    values = values.astype(np.float64)
    low, high = values.min(), values.max()
    return ((values - low) * (255.0 / (high - low))).astype(np.uint8)


def test_16_bit_grey_is_stretched_to_the_full_8_bit_range_like_the_float_reference():
    values = (np.arange(60 * 40, dtype=np.uint16).reshape(40, 60) * 23 + 1000).astype(np.uint16)
    converted = np.asarray(deep_to_8bit(Image.fromarray(values)))
    assert converted.dtype == np.uint8 and converted.min() == 0 and converted.max() == 255
    assert np.abs(converted.astype(int) - stretched(values).astype(int)).max() <= 1


@pytest.mark.parametrize("dtype,mode", [(np.int32, "I"), (np.float32, "F")])
def test_32_bit_grey_is_stretched_row_chunk_by_row_chunk_like_the_float_reference(dtype, mode, monkeypatch):
    from deepboot import imaging

    monkeypatch.setattr(imaging, "_CHUNK_PIXELS", 100)  # many chunks on a small image
    values = (np.arange(30 * 50).reshape(30, 50) * 7 - 2000).astype(dtype)
    converted = np.asarray(deep_to_8bit(Image.fromarray(values)))
    assert np.abs(converted.astype(int) - stretched(values).astype(int)).max() <= 1


def test_a_float_image_with_nan_and_infinity_converts_to_finite_grey():
    values = np.array([[0.0, np.nan], [np.inf, 10.0]], dtype=np.float32)
    converted = np.asarray(deep_to_8bit(Image.fromarray(values)))
    assert converted.tolist() == [[0, 0], [0, 255]]


def test_a_flat_16_bit_image_becomes_black_not_an_error():
    assert np.asarray(deep_to_8bit(Image.new("I;16", (5, 4), 700))).max() == 0


def test_a_large_image_is_shrunk_by_a_whole_factor_keeping_at_least_the_working_side():
    image = Image.new("RGBA", (3000, 1000), (10, 20, 30, 255))
    working = working_rgb(image, 1024)
    assert working.mode == "RGB" and working.size == (1500, 500)


@pytest.mark.parametrize("mode", ["P", "1", "I;16", "LA", "CMYK"])
def test_every_mode_shrinks_to_rgb(mode):
    working = working_rgb(Image.new(mode, (4100, 50)), 1024)
    assert working.mode == "RGB" and working.size == (1025, 13)


@pytest.mark.parametrize("size", [(300, 200), (2047, 30)])
def test_an_image_under_twice_the_working_side_keeps_its_size(size):
    assert working_rgb(Image.new("L", size), 1024).size == size


def exif_rotated_jpeg(size, orientation=6):
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 90, 200)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_jpeg_draft_decodes_at_a_reduced_scale_still_at_least_the_working_side():
    image = Image.open(io.BytesIO(exif_rotated_jpeg((4096, 2048), orientation=1)))
    draft_for(image, 1024)
    image.load()
    assert image.size == (1024, 512)


def test_the_exif_orientation_is_applied_to_the_shrunk_copy_and_the_viewed_size():
    image = Image.open(io.BytesIO(exif_rotated_jpeg((3000, 1000))))
    assert viewed_size(image) == (1000, 3000)
    draft_for(image, 1024)
    image.load()
    assert working_rgb(image, 1024).size == (500, 1500)


def test_to_rgb_composites_alpha_on_white():
    assert to_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)
