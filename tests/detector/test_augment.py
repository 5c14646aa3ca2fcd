"""Augmentation keeps boxes right: the boxes, drawn back onto the augmented image, frame the objects."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from detector.augment import AugmentConfig, affine_matrix, augment, clip_boxes, resize_for_model, transform_boxes
from tests.conftest import ARTIFACTS

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
GEOMETRY_ONLY = AugmentConfig(scale=0.35, aspect=0.15, shift=0.3, hflip=0.5, vflip=0.5, brightness=0,
                              contrast=0, saturation=0, fill=(0, 0, 0))


def scene():
    """A 160 × 120 black image with four solid rectangles; boxes are their exact pixel extents."""
    image = Image.new("RGB", (160, 120))
    draw = ImageDraw.Draw(image)
    boxes = np.array([[10, 10, 50, 40], [70, 20, 150, 60], [20, 70, 60, 115], [100, 80, 130, 110]], "float32")
    for box, colour in zip(boxes, COLOURS):
        draw.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=colour)  # pixels x0..x1-1
    return image, boxes, np.arange(4)


def coloured_extent(pixels, colour):
    """(x_min, y_min, x_max, y_max) of the pixels mostly of `colour`, or None."""
    distance = np.abs(pixels.astype(int) - np.array(colour)).sum(axis=-1)
    ys, xs = np.nonzero(distance < 200)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


@pytest.mark.parametrize("seed", range(12))
def test_boxes_still_frame_their_objects_after_augmentation(seed):
    image, boxes, labels = scene()
    pixels, new_boxes, new_labels = augment(image, boxes, labels, 96, GEOMETRY_ONLY, np.random.default_rng(seed))
    assert pixels.shape == (96, 96, 3) and pixels.dtype == np.uint8
    for box, label in zip(new_boxes, new_labels):
        extent = coloured_extent(pixels, COLOURS[label])
        assert extent is not None
        np.testing.assert_allclose(box, extent, atol=1.5)
    if seed < 3:
        drawn = Image.fromarray(pixels)
        draw = ImageDraw.Draw(drawn)
        for box in new_boxes:
            draw.rectangle(list(box), outline=(255, 255, 255))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        drawn.resize((288, 288), Image.Resampling.NEAREST).save(ARTIFACTS / f"detector-augment-{seed}.png")


def test_a_flip_mirrors_the_boxes():
    image, boxes, labels = scene()
    config = AugmentConfig(**{**AugmentConfig.none().__dict__, "hflip": 1.0})
    pixels, new_boxes, _ = augment(image, boxes, labels, 160, config, np.random.default_rng(0))
    # resize 160×120 -> 160×160 scales y by 4/3; the flip maps x to 160 - x
    np.testing.assert_allclose(new_boxes[0], [110, 10 * 4 / 3, 150, 40 * 4 / 3], atol=1e-4)
    assert coloured_extent(pixels, COLOURS[0])[0] == pytest.approx(110, abs=1)


def test_objects_pushed_out_of_the_frame_are_dropped_and_the_rest_clipped():
    image, boxes, labels = scene()
    # 160×120 -> 100×100, zoom 2× about the centre, shift right by half the frame:
    # x' = 1.25 x, y' = 5/3 y - 50.
    matrix = affine_matrix(image.size, 100, zoom=(2, 2), shift=(0.5, 0))
    moved = transform_boxes(boxes, matrix)
    np.testing.assert_allclose(moved[2], [25, 70 * 5 / 3 - 50, 75, 115 * 5 / 3 - 50], atol=1e-4)
    kept, kept_labels = clip_boxes(moved, labels, 100)
    # box 0 keeps a third of its height, box 1 an eighth of its width, box 3 nothing: dropped.
    # box 2 keeps 33.3 of its 75 rows (44%): kept, clipped at the bottom.
    assert list(kept_labels) == [2]
    np.testing.assert_allclose(kept[0], [25, 70 * 5 / 3 - 50, 75, 100], atol=1e-4)


def test_clip_boxes_keeps_mostly_visible_objects():
    boxes = np.array([[-10, 0, 10, 10], [-15, 0, 5, 10], [90, 90, 99.5, 120]], "float32")
    kept, labels = clip_boxes(boxes, np.array([0, 1, 2]), 100, min_visible=0.4)
    assert list(labels) == [0]  # half visible; a quarter visible and a 1/3-visible box are dropped
    np.testing.assert_allclose(kept[0], [0, 0, 10, 10])


def test_colour_jitter_changes_pixels_and_not_boxes():
    image, boxes, labels = scene()
    jitter = AugmentConfig(**{**GEOMETRY_ONLY.__dict__, "brightness": 0.4, "contrast": 0.4, "saturation": 0.4})
    plain = augment(image, boxes, labels, 96, GEOMETRY_ONLY, np.random.default_rng(5))
    jittered = augment(image, boxes, labels, 96, jitter, np.random.default_rng(5))
    np.testing.assert_array_equal(plain[1], jittered[1])
    assert np.abs(plain[0].astype(int) - jittered[0].astype(int)).mean() > 1


def test_no_augmentation_is_a_plain_resize():
    image, boxes, labels = scene()
    pixels, new_boxes, _ = augment(image, boxes, labels, 80, AugmentConfig.none(), np.random.default_rng(0))
    np.testing.assert_allclose(new_boxes, boxes * np.array([0.5, 80 / 120, 0.5, 80 / 120]), atol=1e-4)
    np.testing.assert_allclose(pixels, resize_for_model(image, 80), atol=1)
