"""A generated, visually learnable classification data set in Caltech-101's layout.

`make_demo_data(dest, seed=0, per_class=20)` writes `dest/<class>/image_0001.jpg …`: JPEG images
of varied sizes and aspect ratios, each with a random background (flat, gradient or noisy) and one
object of its class in a random colour, size, position and rotation. The classes differ in shape
or texture and each has its own family of hues (varied in shade, on greyish backgrounds), so a
small network learns them from a few hundred images in a few CPU-minutes, the way the book's
networks learn Caltech-101's shapes, textures and colours. Pure Pillow + NumPy.
"""

import math
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("checker", "circle", "square", "star", "stripes", "triangle")
# Each class's hue (degrees), jittered by +-HUE_JITTER: colour is one of its cues, shape the other.
HUES = {"checker": 180, "circle": 0, "square": 220, "star": 55, "stripes": 290, "triangle": 120}
HUE_JITTER = 20
MIN_SIDE, MAX_SIDE = 48, 160


def _hsv(h, s, v):
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360.0, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _class_colour(rng, name):
    hue = HUES.get(name, rng.uniform(0, 360)) + rng.uniform(-HUE_JITTER, HUE_JITTER)
    return _hsv(hue, rng.uniform(0.55, 1.0), rng.uniform(0.55, 1.0))


def _background(rng, width, height):
    kind = rng.integers(0, 3)
    base = np.array(_hsv(rng.uniform(0, 360), rng.uniform(0, 0.25), rng.uniform(0.1, 0.95)), dtype=np.float32)
    if kind == 0:  # flat
        pixels = np.broadcast_to(base, (height, width, 3)).copy()
    elif kind == 1:  # linear gradient towards another colour
        other = np.array(_hsv(rng.uniform(0, 360), rng.uniform(0, 0.25), rng.uniform(0.1, 0.95)),
                         dtype=np.float32)
        t = np.linspace(0, 1, width if rng.random() < 0.5 else height, dtype=np.float32)
        ramp = t[None, :, None] if len(t) == width else t[:, None, None]
        pixels = base * (1 - ramp) + other * ramp
        pixels = np.broadcast_to(pixels, (height, width, 3)).copy()
    else:  # noise
        pixels = base + rng.normal(0, 25, size=(height, width, 3)).astype(np.float32)
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB"), tuple(int(c) for c in base)


def _polygon(cx, cy, radius, corners, angle, inner=None):
    points = []
    steps = corners * (2 if inner else 1)
    for i in range(steps):
        r = radius if (inner is None or i % 2 == 0) else radius * inner
        theta = angle + 2 * math.pi * i / steps
        points.append((cx + r * math.cos(theta), cy + r * math.sin(theta)))
    return points


def draw_object(image, name, rng, colour):
    """Draw one object of class `name` onto `image` (in place)."""
    width, height = image.size
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    radius = side * rng.uniform(0.2, 0.38)
    cx = rng.uniform(radius, width - radius)
    cy = rng.uniform(radius, height - radius)
    angle = rng.uniform(0, 2 * math.pi)
    if name == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
    elif name == "square":
        draw.polygon(_polygon(cx, cy, radius, 4, angle), fill=colour)
    elif name == "triangle":
        draw.polygon(_polygon(cx, cy, radius, 3, angle), fill=colour)
    elif name == "star":
        draw.polygon(_polygon(cx, cy, radius, 5, angle, inner=0.42), fill=colour)
    elif name == "stripes":
        # Parallel bands across a square patch of the image at a random angle.
        period = max(4.0, side * rng.uniform(0.08, 0.16))
        patch = Image.new("L", (int(radius * 3), int(radius * 3)), 0)
        patch_draw = ImageDraw.Draw(patch)
        x = 0.0
        while x < patch.size[0]:
            patch_draw.rectangle([x, 0, x + period / 2, patch.size[1]], fill=255)
            x += period
        patch = patch.rotate(math.degrees(angle), resample=Image.BILINEAR)
        box = patch.crop(((patch.size[0] - 2 * radius) / 2, (patch.size[1] - 2 * radius) / 2,
                          (patch.size[0] + 2 * radius) / 2, (patch.size[1] + 2 * radius) / 2))
        image.paste(colour, (int(cx - radius), int(cy - radius)), box.resize((int(2 * radius), int(2 * radius))))
    elif name == "checker":
        cells = int(rng.integers(3, 6))
        cell = 2 * radius / cells
        for row in range(cells):
            for col in range(cells):
                if (row + col) % 2 == 0:
                    x0, y0 = cx - radius + col * cell, cy - radius + row * cell
                    draw.rectangle([x0, y0, x0 + cell, y0 + cell], fill=colour)
    else:
        raise ValueError(f"Unknown demo class {name!r}.")


def make_image(name, rng):
    """One RGB demo image of class `name`, of a random size between 48 and 160 pixels a side."""
    width, height = (int(v) for v in rng.integers(MIN_SIDE, MAX_SIDE + 1, size=2))
    image, background = _background(rng, width, height)
    draw_object(image, name, rng, _class_colour(rng, name))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.2))))
    return image


def make_demo_data(dest, *, seed=0, stdout=None, per_class=20, classes=CLASSES):
    """Write `per_class` JPEG images of each class to `dest/<class>/`. Same seed, same files."""
    if per_class < 1:
        raise ValueError("--per-class must be at least 1.")
    dest = Path(dest)
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    for name in classes:
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(1, per_class + 1):
            image = make_image(name, rng)
            image.save(folder / f"image_{index:04d}.jpg", "JPEG", quality=int(rng.integers(80, 96)))
    if stdout is not None:
        stdout.write(
            f"  {len(classes)} classes x {per_class} images ({', '.join(classes)}) "
            f"in {time.monotonic() - started:.1f}s\n"
        )
    return dest
