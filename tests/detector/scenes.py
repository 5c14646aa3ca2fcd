"""Generated VOC scenes unlike the demo's, to check that training holds up on data it was not tuned on.

The demo (detector/demo_data.py) draws five filled shapes, each class in its own hue, on muted
gradients, with ImageSets split files. These scenes differ in every one of those:

- three classes told apart by shape only, each drawn in any colour: `ring` (a thick ellipse
  outline), `bar` (a long thin rotated rectangle) and `dots` (a cluster of small discs);
- backgrounds of coloured noise and random lines;
- landscape images (240-320 x 160-220 pixels), one to four objects each;
- objects under 18 pixels a side are marked difficult (as VOC marks hard ones);
- no ImageSets/Main files: the command's hash split (80/10/10) chooses train, val and test.

    make_scenes(dest, images=350, seed=0)
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from detector import voc

CLASSES = ("ring", "bar", "dots")


def _colour(rng):
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _background(width, height, rng):
    noise = rng.normal(0, 25, (height, width, 3)) + rng.uniform(60, 200, 3)
    image = Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, x1 = rng.uniform(0, width, 2)
        y0, y1 = rng.uniform(0, height, 2)
        draw.line([(x0, y0), (x1, y1)], fill=_colour(rng), width=int(rng.integers(1, 4)))
    return image


def _draw(draw, name, box, rng):
    x0, y0, x1, y1 = box
    colour = _colour(rng)
    if name == "ring":
        width = max(2, int(min(x1 - x0, y1 - y0) * 0.18))
        draw.ellipse(box, outline=colour, width=width)
    elif name == "bar":
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if x1 - x0 >= y1 - y0:  # horizontal-ish bar filling its box
            half = (y1 - y0) / 2
            draw.polygon([(x0, cy - half * 0.5), (x1, cy - half), (x1, cy + half * 0.5), (x0, cy + half)], fill=colour)
        else:
            half = (x1 - x0) / 2
            draw.polygon([(cx - half, y0), (cx + half * 0.5, y0), (cx + half, y1), (cx - half * 0.5, y1)], fill=colour)
    else:
        radius = max(1.5, min(x1 - x0, y1 - y0) / 7)
        for _ in range(7):
            cx = rng.uniform(x0 + radius, x1 - radius)
            cy = rng.uniform(y0 + radius, y1 - radius)
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
        for cx, cy in ((x0 + radius, y0 + radius), (x1 - radius, y1 - radius)):  # the box's corners
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)


def _box(name, width, height, rng):
    side = rng.uniform(0.1, 0.38) * min(width, height)
    if name == "bar":
        long, short = side * rng.uniform(1.8, 2.6), side * rng.uniform(0.3, 0.45)
        w, h = (long, short) if rng.random() < 0.5 else (short, long)
    else:
        w, h = side * rng.uniform(0.8, 1.25), side
    w, h = min(w, width - 2), min(h, height - 2)
    x0, y0 = rng.uniform(0, width - w), rng.uniform(0, height - h)
    return (float(x0), float(y0), float(x0 + w), float(y0 + h))


def _far_apart(box, boxes, width, height):
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for other in boxes:
        ox, oy = (other[0] + other[2]) / 2, (other[1] + other[3]) / 2
        if abs(cx - ox) < 0.16 * width and abs(cy - oy) < 0.16 * height:
            return False
        overlap_w = min(box[2], other[2]) - max(box[0], other[0])
        overlap_h = min(box[3], other[3]) - max(box[1], other[1])
        if overlap_w > 0 and overlap_h > 0:
            return False
    return True


def make_scenes(dest, images=350, seed=0):
    """Write `images` scenes in VOC layout under `dest` (no split files); returns dest."""
    dest = Path(dest)
    (dest / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (dest / "Annotations").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(images):
        width, height = int(rng.integers(240, 321)), int(rng.integers(160, 221))
        image = _background(width, height, rng)
        draw = ImageDraw.Draw(image)
        objects, boxes = [], []
        for _ in range(int(rng.integers(1, 5))):
            name = CLASSES[int(rng.integers(len(CLASSES)))]
            for _attempt in range(20):
                box = _box(name, width, height, rng)
                if _far_apart(box, boxes, width, height):
                    break
            else:
                continue
            boxes.append(box)
            _draw(draw, name, box, rng)
            small = min(box[2] - box[0], box[3] - box[1]) < 18 and max(box[2] - box[0], box[3] - box[1]) < 30
            objects.append(voc.VocObject(name, tuple(round(v) for v in box), difficult=bool(small)))
        image_id = f"scene{index:05d}"
        image.save(dest / "JPEGImages" / f"{image_id}.jpg", quality=90)
        voc.write_annotation(dest / "Annotations" / f"{image_id}.xml",
                             voc.Annotation(image_id, f"{image_id}.jpg", width, height, tuple(objects)))
    return dest


if __name__ == "__main__":
    import sys

    make_scenes(sys.argv[1], images=int(sys.argv[2]) if len(sys.argv) > 2 else 350,
                seed=int(sys.argv[3]) if len(sys.argv) > 3 else 0)
