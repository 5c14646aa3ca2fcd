"""Pillow images of any mode to plain RGB. No Django here: the classifier's data pipeline (a pure
core) and the upload validation path both use it, so a training image and an uploaded one are
converted the same way.

`to_rgb` converts at the image's own size. `decode_working` (with `draft_for` and `working_rgb`)
is the served images' path, for an upload once it is validated and for a sample read from disk: a
JPEG is decoded at a reduced scale (draft mode), any other image is shrunk with `Image.reduce` as
soon as it is decoded, and the EXIF orientation is applied last, so a large image costs one decode
and small copies, never float64 arrays of its full size. The working copy keeps the size of the
image it was made from under `info[SOURCE_SIZE]`, for boxes in that image's pixels.
"""

import math

import numpy as np
from PIL import Image

DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# Image.info key that keeps the source image's own (viewed) size on the shrunk working copy.
SOURCE_SIZE = "deepboot_source_size"
# Rows converted at a time for 32-bit images: bounds the float32 temporary to about 4 MB.
_CHUNK_PIXELS = 1 << 20
# EXIF orientation (tag 0x0112) -> the transpose that shows the image upright (as ImageOps does).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UnsupportedMode(ValueError):
    """An image mode Pillow cannot convert to RGB; `mode` names it."""

    def __init__(self, mode):
        super().__init__(f"cannot convert mode {mode} to RGB")
        self.mode = mode

    def __reduce__(self):  # it crosses from a decoding process (deepboot/decoding.py) intact
        return type(self), (self.mode,)


def deep_to_8bit(image):
    """16-bit and 32-bit grey ("I;16*", "I", "F") stretched to 0-255 as mode "L".

    16-bit images go through a 65,536-entry lookup table (the only full-size arrays are the 16-bit
    pixels and the 8-bit result); 32-bit ones are scaled in float32 a few rows at a time. NaN and
    infinite values (mode "F") become 0."""
    values = np.asarray(image)
    if values.dtype.itemsize == 2:
        low, high = int(values.min()), int(values.max())
        table = np.zeros(65536, dtype=np.uint8)
        if high > low:
            levels = np.arange(low, high + 1, dtype=np.float32)
            table[low:high + 1] = np.clip((levels - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
        return Image.fromarray(table[values])
    finite = values if values.dtype.kind != "f" else np.where(np.isfinite(values), values, np.nan)
    low = float(np.nanmin(finite)) if np.isfinite(np.nanmin(finite)) else 0.0
    high = float(np.nanmax(finite)) if np.isfinite(np.nanmax(finite)) else 0.0
    del finite
    scale = np.float32(255.0 / (high - low)) if high > low else np.float32(0)
    out = np.zeros(values.shape, dtype=np.uint8)
    rows = max(1, _CHUNK_PIXELS // max(1, values.shape[1]))
    for start in range(0, values.shape[0], rows):
        chunk = (values[start:start + rows].astype(np.float32) - np.float32(low)) * scale
        np.nan_to_num(chunk, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        out[start:start + rows] = np.clip(chunk, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def to_rgb(image):
    """RGB for palette, grey, alpha (composited on white), CMYK and 16/32-bit grey (stretched to
    0-255). Raises UnsupportedMode (a ValueError) for a mode Pillow cannot convert."""
    if image.mode in DEEP_MODES:
        image = deep_to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    try:
        return image.convert("RGB")
    except OSError as exc:
        raise UnsupportedMode(image.mode) from exc


def orientation(image):
    """The EXIF orientation (1-8) of an opened image; 1 when there is none or it is unreadable."""
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return 1
    return value if value in _ORIENTATION else 1


def viewed_size(image):
    """(width, height) of an opened image as a person sees it, its EXIF orientation applied."""
    width, height = image.size
    return (height, width) if orientation(image) in (5, 6, 7, 8) else (width, height)


def draft_for(image, side):
    """Ask a JPEG decoder for the smallest scale (1/2, 1/4, 1/8) whose longer side is still at
    least `side`; other formats ignore it. Call before `load()`."""
    width, height = image.size
    longest = max(width, height)
    if image.format == "JPEG" and longest > side:
        ratio = side / longest
        image.draft(image.mode, (max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))))


def working_rgb(image, side):
    """An opened, loaded image as RGB with its EXIF orientation applied, shrunk by the largest
    whole factor that keeps its longer side at least `side` (so under 2 x `side`; a smaller image
    keeps its size). Shrinks (Image.reduce, a box filter) before any mode conversion that would
    copy the full-size pixels. Raises UnsupportedMode (a ValueError) for an unconvertible mode."""
    turn = _ORIENTATION.get(orientation(image))
    if image.mode in DEEP_MODES:
        image = deep_to_8bit(image)
    factor = max(image.size) // side
    if factor >= 2:
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "I", "F"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        image = image.reduce(factor)
    image = to_rgb(image)
    if turn is not None:
        image = image.transpose(turn)
    return image



def decode_working(image, side):
    """An opened (not yet loaded) image's first frame decoded as a working copy: RGB, upright,
    shrunk by a whole factor to under 2 x `side` on its longer side, with the viewed size of the
    source under `info[SOURCE_SIZE]`. Raises what Pillow raises for a truncated or corrupt file
    (OSError, SyntaxError, ValueError, EOFError, IndexError) and UnsupportedMode for an
    unconvertible mode; the caller decides what those mean (a refused upload, a missing sample)."""
    image.seek(0)  # the first frame of an animation
    size = viewed_size(image)
    draft_for(image, side)
    image.load()
    try:
        working = working_rgb(image, side)
    except ValueError as exc:  # whichever step of the conversion refused, name the decoded mode
        raise UnsupportedMode(image.mode) from exc
    working.info[SOURCE_SIZE] = size
    return working
