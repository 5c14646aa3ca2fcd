"""Pillow images of any mode to plain RGB. No Django here: the classifier's data pipeline (a pure
core) and the upload validation path both use it, so a training image and an uploaded one are
converted the same way."""

import numpy as np
from PIL import Image


def to_rgb(image):
    """RGB for palette, grey, alpha (composited on white), CMYK and 16/32-bit grey (stretched to
    0-255). Raises ValueError for a mode Pillow cannot convert."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    try:
        return image.convert("RGB")
    except OSError as exc:
        raise ValueError(f"cannot convert mode {image.mode} to RGB") from exc
