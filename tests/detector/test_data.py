"""Targets per grid cell, and the training pipeline's batches."""

import numpy as np

from detector.data import DetectionData, encode_targets
from detector.demo_data import make_demo_data


def test_one_object_lands_in_the_cell_of_its_centre():
    # 96 px input, grid 12 (8 px cells): box 20..44 × 50..66 -> centre (32, 58) -> col 4, row 7.
    target = encode_targets([[20, 50, 44, 66]], [2], 96, 12, 3)
    assert target.shape == (12, 12, 8)
    assert target[..., 0].sum() == 1 and target[7, 4, 0] == 1
    np.testing.assert_allclose(target[7, 4, 1:5], [0.0, 0.25, 24 / 96, 16 / 96])
    np.testing.assert_array_equal(target[7, 4, 5:], [0, 0, 1])


def test_a_shared_cell_keeps_the_larger_object():
    target = encode_targets([[0, 0, 30, 30], [10, 10, 20, 20]], [0, 1], 96, 4, 2)
    assert target[..., 0].sum() == 1
    np.testing.assert_array_equal(target[0, 0, 5:], [1, 0])


def test_no_objects_no_targets():
    assert encode_targets(np.zeros((0, 4)), [], 64, 8, 2).sum() == 0


def test_pipeline_yields_batches_matching_the_annotations(tmp_path):
    make_demo_data(tmp_path, seed=3, images=12, stdout=open("/dev/null", "w"))
    data = DetectionData.load(tmp_path, "all")
    assert data.class_names == sorted({o.name for a in data.annotations for o in a.objects})
    batches = list(data.dataset(image_size=64, grid=8, batch_size=5, shuffle=False).as_numpy_iterator())
    assert [len(x) for x, _ in batches] == [5, 5, 2]
    pixels, targets = batches[0]
    assert pixels.shape == (5, 64, 64, 3) and targets.shape == (5, 8, 8, 5 + len(data.class_names))
    for index in range(5):
        assert targets[index, ..., 0].sum() == len(data.annotations[index].objects)


def test_parallel_workers_yield_every_image_once_per_pass(tmp_path):
    make_demo_data(tmp_path, seed=4, images=10, stdout=open("/dev/null", "w"))
    data = DetectionData.load(tmp_path, "all")

    def targets(workers):
        ds = data.dataset(image_size=32, grid=4, batch_size=10, shuffle=False, workers=workers)
        return next(ds.as_numpy_iterator())[1]

    single, parallel = targets(1), targets(3)
    # the same images, in an interleaved order: compare the sorted per-image object counts
    assert sorted(single[..., 0].sum(axis=(1, 2))) == sorted(parallel[..., 0].sum(axis=(1, 2)))
    assert parallel.shape[0] == 10


def test_each_pass_reshuffles_the_training_stream(tmp_path):
    make_demo_data(tmp_path, seed=4, images=8, stdout=open("/dev/null", "w"))
    data = DetectionData.load(tmp_path, "all")
    ds = data.dataset(image_size=32, grid=4, batch_size=8, shuffle=True, repeat=True, seed=3)
    batches = ds.take(2).as_numpy_iterator()
    first, second = (pixels for pixels, _ in batches)
    assert first.shape == second.shape == (8, 32, 32, 3)
    assert not np.array_equal(first, second)  # another order and other augmentation draws


def test_a_difficult_object_marks_its_cell_ignored_and_a_real_object_wins_a_shared_cell():
    target = encode_targets([[0, 0, 16, 16], [40, 40, 60, 60], [44, 44, 56, 56]], [0, 1, 0], 64, 4, 2,
                            difficult=[True, False, True])
    assert target[0, 0, 0] == -1 and target[0, 0, 1:].sum() == 0  # ignored: no box, no class
    assert target[3, 3, 0] == 1 and list(target[3, 3, 5:]) == [0, 1]  # the real object keeps its cell
    assert (target[..., 0] != 0).sum() == 2


def test_training_examples_carry_difficult_objects_as_ignored_cells(tmp_path):
    from detector import voc
    from detector.augment import AugmentConfig
    from PIL import Image

    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    Image.new("RGB", (64, 64), (90, 90, 90)).save(tmp_path / "JPEGImages" / "a.jpg")
    objects = (voc.VocObject("cat", (4, 4, 20, 20)), voc.VocObject("dog", (40, 40, 60, 60), difficult=True))
    voc.write_annotation(tmp_path / "Annotations" / "a.xml", voc.Annotation("a", "a.jpg", 64, 64, objects))
    data = DetectionData.load(tmp_path, "all")
    _, target = data.example(0, 64, 4, AugmentConfig.none(), np.random.default_rng(0))
    assert target[0, 0, 0] == 1 and target[3, 3, 0] == -1 and (target[..., 0] != 0).sum() == 2


def _exif_scene(tmp_path, annotated_size):
    """A 60×40 stored JPEG, left half white, with EXIF orientation 6 (shown 40×60, white on top)."""
    from PIL import Image

    from detector import voc

    (tmp_path / "JPEGImages").mkdir(parents=True)
    (tmp_path / "Annotations").mkdir(parents=True)
    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[:, :30] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "JPEGImages" / "a.jpg", exif=exif, quality=95)
    width, height = annotated_size
    objects = (voc.VocObject("cat", (0, 0, width / 2, height / 2)),)
    voc.write_annotation(tmp_path / "Annotations" / "a.xml", voc.Annotation("a", "a.jpg", width, height, objects))
    return DetectionData.load(tmp_path, "all")


def test_training_images_are_turned_upright_by_exif_as_uploads_are(tmp_path):
    from deepboot_site.uploads import open_image

    data = _exif_scene(tmp_path, (40, 60))  # annotated on the upright image
    image = data.image(0)
    served = open_image((tmp_path / "JPEGImages" / "a.jpg").read_bytes())
    assert image.size == (40, 60) and np.array_equal(np.asarray(image), np.asarray(served))
    assert np.asarray(image)[:20].mean() > 200 and np.asarray(image)[-20:].mean() < 50


def test_an_annotation_of_the_stored_pixels_keeps_them_as_stored(tmp_path):
    data = _exif_scene(tmp_path, (60, 40))  # <size> says the boxes are on the stored 60×40 pixels
    assert data.image(0).size == (60, 40)
