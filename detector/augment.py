"""Augmentation that keeps the boxes right (NumPy and Pillow; no framework).

One affine map takes the source image to the network's square input: resize, a random scale and
shift, and a horizontal (optionally vertical) flip, applied to the pixels by Pillow (the resize
as serving does it, then the rest) and to the box corners by the same matrix. Boxes are then clipped to the frame, and objects pushed
mostly out of it (less than `min_visible` of their area left, or thinner than 2 pixels) dropped.
Colour jitter (brightness, contrast, saturation) changes pixels only.

Boxes are (N, 4) xyxy in pixels: of the source image going in, of the output image coming out.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance


@dataclass(frozen=True)
class AugmentConfig:
    """How strongly to augment; `AugmentConfig.none()` only resizes."""

    scale: float = 0.25
    """Zoom factor drawn from [1 - scale, 1 + scale] (per axis, with `aspect` jitter)."""
    aspect: float = 0.1
    """Extra independent jitter of the x and y zoom, a fraction."""
    shift: float = 0.2
    """Shift drawn from ±shift of the output size, per axis."""
    hflip: float = 0.5
    """Probability of a horizontal flip."""
    vflip: float = 0.0
    """Probability of a vertical flip (off for photos, where up matters)."""
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    """Colour jitter: each factor drawn from [1 - x, 1 + x]."""
    min_visible: float = 0.4
    """Drop an object when less than this fraction of its box is left inside the frame."""
    fill: tuple[int, int, int] = (124, 117, 104)
    """Colour of the area uncovered by a shift or zoom-out."""

    @classmethod
    def none(cls):
        return cls(scale=0, aspect=0, shift=0, hflip=0, vflip=0, brightness=0, contrast=0, saturation=0)


def affine_matrix(src_size, out_size, *, zoom=(1.0, 1.0), shift=(0.0, 0.0), hflip=False, vflip=False):
    """3×3 matrix mapping source pixel (x, y, 1) to output pixels.

    The source is first resized to out_size × out_size, then zoomed by `zoom` about the centre,
    shifted by `shift` (fractions of out_size) and flipped.
    """
    src_w, src_h = src_size
    half = out_size / 2.0
    resize = np.diag([out_size / src_w, out_size / src_h, 1.0])
    about_centre = np.array([[1, 0, -half], [0, 1, -half], [0, 0, 1]], dtype=float)
    zoom_m = np.diag([zoom[0] * (-1 if hflip else 1), zoom[1] * (-1 if vflip else 1), 1.0])
    back = np.array([[1, 0, half + shift[0] * out_size], [0, 1, half + shift[1] * out_size], [0, 0, 1]])
    return back @ zoom_m @ about_centre @ resize


def transform_boxes(boxes, matrix):
    """(N, 4) xyxy -> (N, 4) xyxy under an affine matrix (axis-aligned maps: zoom, shift, flips)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 3]]], axis=1)  # (N, 2, 2)
    ones = np.ones(corners.shape[:2] + (1,))
    mapped = np.concatenate([corners, ones], axis=-1) @ matrix.T  # (N, 2, 3)
    lo = np.minimum(mapped[:, 0, :2], mapped[:, 1, :2])
    hi = np.maximum(mapped[:, 0, :2], mapped[:, 1, :2])
    return np.concatenate([lo, hi], axis=1)


def clip_boxes(boxes, labels, size, min_visible=0.4, min_side=2.0):
    """Clip (N, 4) xyxy pixel boxes to a size × size frame; drop those mostly outside.

    Returns (boxes (M, 4), labels (M,)) for the objects that keep at least `min_visible` of their
    area and at least `min_side` pixels in each direction.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labels = np.asarray(labels).reshape(-1)
    area = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 0), axis=1)
    clipped = np.clip(boxes, 0, size)
    sides = np.maximum(clipped[:, 2:] - clipped[:, :2], 0)
    keep = (sides.min(axis=1) >= min_side) & (np.prod(sides, axis=1) >= min_visible * np.maximum(area, 1e-9))
    return clipped[keep].astype(np.float32), labels[keep]


def _colour_jitter(image, config, rng):
    for enhancer, amount in (
        (ImageEnhance.Brightness, config.brightness),
        (ImageEnhance.Contrast, config.contrast),
        (ImageEnhance.Color, config.saturation),
    ):
        if amount > 0:
            image = enhancer(image).enhance(float(rng.uniform(1 - amount, 1 + amount)))
    return image


def augment(image, boxes, labels, out_size, config, rng):
    """Augment one image and its boxes.

    image: PIL RGB image (any size); boxes: (N, 4) xyxy in its pixels; labels: (N,) ints;
    out_size: side of the square output; rng: numpy Generator.
    Returns (pixels (out_size, out_size, 3) uint8, boxes (M, 4) float32 xyxy in output pixels,
    labels (M,)).
    """
    base = float(rng.uniform(1 - config.scale, 1 + config.scale)) if config.scale else 1.0
    zoom = tuple(
        base * (float(rng.uniform(1 - config.aspect, 1 + config.aspect)) if config.aspect else 1.0) for _ in range(2)
    )
    shift = tuple(float(rng.uniform(-config.shift, config.shift)) if config.shift else 0.0 for _ in range(2))
    hflip = bool(config.hflip and rng.random() < config.hflip)
    vflip = bool(config.vflip and rng.random() < config.vflip)
    matrix = affine_matrix(image.size, out_size, zoom=zoom, shift=shift, hflip=hflip, vflip=vflip)
    # Resize first, as `resize_for_model` does when serving (Pillow's resize filters before it
    # shrinks; an affine transform would alias), then zoom, shift and flip the resized image.
    out = image.convert("RGB").resize((out_size, out_size), Image.Resampling.BILINEAR)
    resize = np.diag([out_size / image.size[0], out_size / image.size[1], 1.0])
    on_resized = matrix @ np.linalg.inv(resize)
    if not np.allclose(on_resized, np.eye(3)):
        # Pillow samples the source at inverse(output pixel centre): coefficients map output -> source.
        inverse = np.linalg.inv(on_resized)
        out = out.transform(
            (out_size, out_size), Image.Transform.AFFINE, tuple(inverse[:2].reshape(-1)),
            resample=Image.Resampling.BILINEAR, fillcolor=config.fill,
        )
    out = _colour_jitter(out, config, rng)
    new_boxes, new_labels = clip_boxes(transform_boxes(boxes, matrix), labels, out_size, config.min_visible)
    return np.asarray(out, dtype=np.uint8), new_boxes, new_labels


def resize_for_model(image, out_size):
    """The network's input for an image: plain resize to out_size × out_size (no augmentation),
    float32 (out_size, out_size, 3) pixels 0..255."""
    resized = image.convert("RGB").resize((out_size, out_size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)
