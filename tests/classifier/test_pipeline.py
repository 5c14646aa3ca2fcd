"""classifier/pipeline.py: decoding (Pillow and EXIF as uploads), batches, and seeded augmentation."""

import numpy as np
import pytest
from PIL import Image

from classifier import data, pipeline
from tests.classifier.test_data import write


def test_pillow_path_handles_16_bit_and_transparency(tmp_path):
    wide = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "deep.png")
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    rgba.save(tmp_path / "clear.png")
    deep = pipeline.pillow_rgb(str(tmp_path / "deep.png"))
    assert deep.shape == (32, 32, 3) and deep.min() == 0 and deep.max() == 255
    assert (pipeline.pillow_rgb(str(tmp_path / "clear.png")) == 255).all()  # transparent -> white


def test_training_pipeline_batches_augments_and_one_hot_encodes(demo_data):
    dataset = data.scan_folder(demo_data)
    plain = pipeline.make_dataset(demo_data, dataset.items[:8], 32, 4, num_classes=6)
    augmented = pipeline.make_dataset(demo_data, dataset.items[:8], 32, 4, num_classes=6, training=True, seed=1)
    images, labels = next(iter(plain))
    assert images.shape == (4, 32, 32, 3) and labels.shape == (4, 6)
    assert np.allclose(labels.numpy().sum(axis=1), 1.0)
    assert 0 <= images.numpy().min() and images.numpy().max() <= 255 and images.numpy().max() > 1
    plain_pixels = np.concatenate([x.numpy() for x, _ in plain])
    augmented_pixels = np.concatenate([x.numpy() for x, _ in augmented])
    assert augmented_pixels.shape == plain_pixels.shape
    assert not np.allclose(np.sort(augmented_pixels.ravel()), np.sort(plain_pixels.ravel()))


def test_an_exif_rotated_training_image_is_decoded_upright_exactly_as_an_upload_is(tmp_path):
    from deepboot_site.uploads import open_image

    stored = np.zeros((40, 80, 3), dtype=np.uint8)  # 80 wide, 40 high; left half red
    stored[:, :40] = (250, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # view rotated 90° clockwise: 40 wide, 80 high, red on top
    path = tmp_path / "root" / "phone" / "portrait.jpg"
    path.parent.mkdir(parents=True)
    Image.fromarray(stored).save(path, "JPEG", exif=exif, quality=95)
    write(tmp_path / "root" / "other" / "plain.jpg")
    dataset = data.scan_folder(tmp_path / "root")
    item = next(i for i in dataset.items if i.path == "phone/portrait.jpg")
    assert item.needs_pillow
    served = np.asarray(open_image(path.read_bytes()), dtype=np.uint8)
    assert served.shape == (80, 40, 3)
    assert np.array_equal(pipeline.pillow_rgb(str(path)), served)
    decoded = next(iter(pipeline.image_dataset(tmp_path / "root", [item], 32, 1))).numpy()[0]
    assert decoded[:12, :, 0].mean() > 200 and decoded[-12:, :, 0].mean() < 60  # red on top, as shown


def test_augment_names_choose_the_transforms_in_a_fixed_order():
    assert pipeline.parse_augment("zoom, flip") == ("flip", "zoom")
    assert pipeline.parse_augment("none") == () and pipeline.parse_augment(False) == ()
    assert pipeline.parse_augment(True) == pipeline.AUGMENTATIONS == pipeline.parse_augment(pipeline.DEFAULT_AUGMENT)
    with pytest.raises(data.DataError, match="Unknown augmentation sepia"):
        pipeline.parse_augment("flip,sepia")
    layers = [layer.__class__.__name__ for layer in pipeline.augmenter(0, ("shift", "color")).layers]
    assert layers == ["RandomTranslation", "RandomBrightness", "RandomContrast"]


def test_each_augmentation_layer_draws_its_own_random_numbers():
    """Flip and brightness from one seed were correlated (every flipped image darker): with a seed
    per layer, whether an image is flipped says nothing about how its brightness moved."""
    ramp = np.tile(np.linspace(0, 200, 32, dtype=np.float32), (32, 1))
    images = np.repeat(np.stack([ramp] * 3, axis=-1)[None], 256, axis=0)
    augment = pipeline.augmenter(5, ("flip", "color"))
    out = np.asarray(augment(images, training=True))
    flipped = out[:, :, :4].mean(axis=(1, 2, 3)) > out[:, :, -4:].mean(axis=(1, 2, 3))
    brightness = out.mean(axis=(1, 2, 3)) - images.mean(axis=(1, 2, 3))
    assert 0.3 < flipped.mean() < 0.7 and brightness.std() > 1
    assert abs(np.corrcoef(flipped.astype(float), brightness)[0, 1]) < 0.2


def test_training_batches_come_in_the_same_order_with_the_same_augmentation_for_a_seed(demo_data):
    dataset = data.scan_folder(demo_data)

    def batches(seed):
        batched = pipeline.make_dataset(demo_data, dataset.items, 32, 6, num_classes=6, training=True, seed=seed)
        return np.concatenate([x.numpy() for x, _ in batched]), np.concatenate([y.numpy() for _, y in batched])

    (first, first_labels), (again, again_labels) = batches(4), batches(4)
    assert np.array_equal(first, again) and np.array_equal(first_labels, again_labels)
    assert not np.array_equal(first, batches(5)[0])
