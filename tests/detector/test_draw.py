"""Drawing detections: each box outlined in its class colour where the box says."""

import numpy as np
from PIL import Image

from detector.boxes import Detection
from detector.draw import PALETTE, colour_for, detection_grid, draw_detections


def rgb(colour):
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_boxes_are_outlined_in_their_class_colour():
    image = Image.new("RGB", (120, 100), "white")
    names = ["cat", "dog"]
    drawn = np.asarray(draw_detections(image, [Detection((30, 40, 90, 80), "dog", 0.9)], names))
    dog = rgb(colour_for(names, "dog"))
    assert dog == rgb(PALETTE[1])
    assert tuple(drawn[60, 30]) == dog and tuple(drawn[60, 90]) == dog  # left and right edges
    assert tuple(drawn[79, 60]) == dog  # bottom edge
    assert tuple(drawn[60, 60]) == (255, 255, 255)  # inside stays as it was
    assert tuple(np.asarray(image)[60, 30]) == (255, 255, 255)  # the original is not touched


def test_grid_png_holds_every_image(tmp_path):
    images = [Image.new("RGB", (50, 40), "grey") for _ in range(5)]
    path = detection_grid(images, [[]] * 5, ["cat"], tmp_path / "grid.png", columns=4, cell=64)
    assert Image.open(path).size == (256, 128)
