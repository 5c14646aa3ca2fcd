"""Demo scenes for offline use: several coloured shapes of several classes per image, in VOC layout.

Each class is a shape with its own range of colours; backgrounds are muted gradients with
low-contrast stripes, lines, blobs and noise, so colour alone does not find the objects. Objects
vary in size (about 12-40% of the shorter side) and position, may overlap a little (IoU <= 0.2, at most 35% of the smaller one covered),
and their centres are at least 14% of the image apart on one axis, so no two share a cell of a grid
of 8 or finer (YOLO v1 predicts one object per cell). Images vary in size (160-320 pixels a side).

    make_demo_data(dest, seed=0, images=1000, stdout=None)

writes dest/JPEGImages/*.jpg, dest/Annotations/*.xml and dest/ImageSets/Main/{train,val,test}.txt
(80/10/10), the same files for the same seed.
"""

import colorsys
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import voc

DEMO_CLASSES = ("circle", "square", "triangle", "star", "cross")
# Hue ranges (0..1) per class: each class has its own colours, jittered within the range.
CLASS_HUES = {
    "circle": (0.97, 1.05),   # reds
    "square": (0.55, 0.65),   # blues
    "triangle": (0.25, 0.38),  # greens
    "star": (0.12, 0.17),     # yellows
    "cross": (0.76, 0.86),    # purples
}
MIN_CENTRE_GAP = 0.14
MAX_OVERLAP = 0.2
MAX_COVERED = 0.35  # at most this much of the smaller box under the other
DEFAULT_IMAGES = 1000


def _colour(hue, saturation, value):
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return int(r * 255), int(g * 255), int(b * 255)


def _muted(rng, value_low=0.35, value_high=0.85):
    return _colour(rng.random(), rng.uniform(0.0, 0.25), rng.uniform(value_low, value_high))


def background(width, height, rng):
    """A muted, textured background: gradient, stripes or lines, soft blobs, noise."""
    top, bottom = np.array(_muted(rng), float), np.array(_muted(rng), float)
    t = np.linspace(0, 1, height if rng.random() < 0.5 else width)
    ramp = top[None, :] * (1 - t[:, None]) + bottom[None, :] * t[:, None]
    pixels = (
        np.broadcast_to(ramp[:, None, :], (height, width, 3))
        if len(t) == height
        else np.broadcast_to(ramp[None, :, :], (height, width, 3))
    ).copy()
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    texture = rng.integers(3)
    if texture == 0:  # stripes
        step = int(rng.integers(8, 24))
        colour = _muted(rng)
        for offset in range(-height, width, step * 2):
            draw.polygon([(offset, 0), (offset + step, 0), (offset + step + height, height), (offset + height, height)],
                         fill=colour)
    elif texture == 1:  # lines
        for _ in range(int(rng.integers(4, 12))):
            points = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(2)]
            draw.line(points, fill=_muted(rng), width=int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(2, 6))):  # soft blobs
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(10, 50)
        draw.ellipse([cx - r, cy - r * rng.uniform(0.5, 1.5), cx + r, cy + r], fill=_muted(rng, 0.3, 0.9))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    noisy = np.asarray(image, float) + rng.normal(0, rng.uniform(3, 10), (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _rotate(points, centre, angle):
    cx, cy = centre
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in points]


def shape_polygon(name, box, rng):
    """The outline of a shape filling `box` (x_min, y_min, x_max, y_max): a polygon's points, or
    None for the circle (drawn as an ellipse)."""
    x0, y0, x1, y1 = box
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if name == "circle":
        return None
    if name == "square":
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if name == "triangle":
        points = [(cx, y0), (x1, y1), (x0, y1)]
        return points if rng.random() < 0.75 else [(cx, y1), (x1, y0), (x0, y0)]
    if name == "star":
        points = []
        for k in range(10):
            radius = 0.5 if k % 2 == 0 else 0.2
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + radius * w * math.cos(angle), cy + radius * h * math.sin(angle)))
        return points
    if name == "cross":
        a, b = 0.33, 0.67
        xs = [x0, x0 + a * w, x0 + b * w, x1]
        ys = [y0, y0 + a * h, y0 + b * h, y1]
        return [(xs[1], ys[0]), (xs[2], ys[0]), (xs[2], ys[1]), (xs[3], ys[1]), (xs[3], ys[2]), (xs[2], ys[2]),
                (xs[2], ys[3]), (xs[1], ys[3]), (xs[1], ys[2]), (xs[0], ys[2]), (xs[0], ys[1]), (xs[1], ys[1])]
    raise ValueError(f"unknown demo class {name!r}")


def _bounds(points):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a, b):
    """(IoU, intersection over the smaller box's area) of two xyxy boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter), inter / min(area_a, area_b)


def _too_close(box, centre, other_box, other_centre):
    iou, covered = _overlap(box, other_box)
    gap = max(abs(centre[0] - other_centre[0]), abs(centre[1] - other_centre[1]))
    return gap < MIN_CENTRE_GAP or iou > MAX_OVERLAP or covered > MAX_COVERED


def place_objects(width, height, rng, count):
    """Up to `count` (class name, box) placements that respect the gap and overlap rules."""
    placed = []
    short = min(width, height)
    for _ in range(count * 30):
        if len(placed) == count:
            break
        side = rng.uniform(0.12, 0.4) * short
        w, h = side * rng.uniform(0.85, 1.15), side * rng.uniform(0.85, 1.15)
        x0, y0 = rng.uniform(1, width - w - 1), rng.uniform(1, height - h - 1)
        box = (x0, y0, x0 + w, y0 + h)
        centre = ((x0 + w / 2) / width, (y0 + h / 2) / height)
        if any(_too_close(box, centre, b, c) for _, b, c in placed):
            continue
        placed.append((DEMO_CLASSES[int(rng.integers(len(DEMO_CLASSES)))], box, centre))
    return [(name, box) for name, box, _ in placed]


def draw_object(draw, name, box, rng):
    """Draw one shape; returns its tight bounding box (continuous pixels)."""
    low, high = CLASS_HUES[name]
    fill = _colour(rng.uniform(low, high), rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0))
    outline = tuple(int(c * 0.55) for c in fill)
    points = shape_polygon(name, box, rng)
    if points is None:
        draw.ellipse(box, fill=fill, outline=outline, width=2)
        return box
    if name != "square" or rng.random() < 0.5:
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        points = _rotate(points, centre, rng.uniform(-0.25, 0.25))
    draw.polygon(points, fill=fill, outline=outline, width=2)
    x0, y0, x1, y1 = _bounds(points)
    return x0, y0, x1 + 1, y1 + 1


def make_scene(rng, width=None, height=None):
    """One scene -> (PIL image, [(class name, (x_min, y_min, x_max, y_max))])."""
    width = width or int(rng.integers(160, 321))
    height = height or int(rng.integers(160, 321))
    image = background(width, height, rng)
    draw = ImageDraw.Draw(image)
    objects = []
    for name, box in place_objects(width, height, rng, int(rng.integers(2, 6))):
        x0, y0, x1, y1 = draw_object(draw, name, box, rng)
        objects.append((name, (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))))
    return image, objects


def make_demo_data(dest, *, seed=0, images=DEFAULT_IMAGES, stdout=None, **options):
    """Write `images` scenes in VOC layout under dest, and the 80/10/10 split files."""
    stdout = stdout or sys.stdout
    dest = Path(dest)
    if images < 1:
        raise ValueError("--images must be at least 1")
    rng = np.random.default_rng(seed)
    ids = []
    for index in range(images):
        image_id = f"scene_{seed:04d}_{index:05d}"
        image, objects = make_scene(rng)
        (dest / "JPEGImages").mkdir(parents=True, exist_ok=True)
        image.save(dest / "JPEGImages" / f"{image_id}.jpg", quality=92)
        annotation = voc.Annotation(
            image_id, f"{image_id}.jpg", image.width, image.height,
            tuple(voc.VocObject(name, box) for name, box in objects),
        )
        voc.write_annotation(dest / "Annotations" / f"{image_id}.xml", annotation, folder="DeepBootDemo")
        ids.append(image_id)
        if (index + 1) % 200 == 0 or index + 1 == images:
            stdout.write(f"  {index + 1}/{images} scenes\n")
    order = np.random.default_rng(seed + 1).permutation(len(ids))
    n_train, n_val = int(round(0.8 * len(ids))), int(round(0.1 * len(ids)))
    splits = {
        "train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:],
    }
    for split, indices in splits.items():
        voc.write_split(dest, split, sorted(ids[i] for i in indices))
    voc.write_split(dest, "trainval", sorted(ids[i] for i in np.concatenate([splits["train"], splits["val"]])))
    stdout.write(
        f"  {images} scenes in {dest} ({', '.join(f'{k} {len(v)}' for k, v in splits.items())}), "
        f"classes: {', '.join(DEMO_CLASSES)}\n"
    )
    return dest
