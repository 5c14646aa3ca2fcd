"""classifier/data.py: the folder loader, the split, folds and the overlap check."""

import io

import numpy as np
import pytest
from PIL import Image

from classifier import data, pipeline


def write(path, mode="RGB", size=(40, 30), fmt="JPEG", colour=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = colour if colour is not None else {"RGB": (220, 20, 20), "L": 90, "CMYK": (255, 0, 0, 0)}.get(mode, 0)
    Image.new(mode, size, colour).save(path, fmt)
    return path


@pytest.fixture
def odd_tree(tmp_path):
    """Two classes with an RGB, a grayscale, a CMYK JPEG, a PNG, and two unreadable files."""
    root = tmp_path / "root"
    write(root / "apple" / "rgb.jpg")
    write(root / "apple" / "gray.jpg", mode="L")
    write(root / "apple" / "cmyk.jpg", mode="CMYK")
    write(root / "banana" / "b1.png", fmt="PNG")
    write(root / "banana" / "b2.jpg")
    (root / "banana" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "banana" / "notes.jpg").write_text("hello")
    (root / "banana" / "readme.txt").write_text("ignored: not an image name")
    return root


def test_classes_are_sorted_folder_names_and_unreadable_files_are_reported_and_skipped(odd_tree):
    out = io.StringIO()
    dataset = data.scan_folder(odd_tree, stdout=out)
    assert dataset.classes == ["apple", "banana"]
    assert sorted(i.path for i in dataset.items) == [
        "apple/cmyk.jpg", "apple/gray.jpg", "apple/rgb.jpg", "banana/b1.png", "banana/b2.jpg"]
    assert sorted(path for path, _ in dataset.skipped) == ["banana/broken.jpg", "banana/notes.jpg"]
    assert "skipped unreadable banana/broken.jpg" in out.getvalue()
    assert dataset.counts() == {"apple": 3, "banana": 2}


def test_cmyk_is_decoded_through_pillow_and_every_image_becomes_rgb(odd_tree):
    dataset = data.scan_folder(odd_tree)
    flags = {i.path: i.needs_pillow for i in dataset.items}
    assert flags["apple/cmyk.jpg"] and not flags["apple/rgb.jpg"] and not flags["apple/gray.jpg"]
    batches = list(pipeline.image_dataset(odd_tree, dataset.items, 32, 8))
    pixels = np.concatenate([b.numpy() for b in batches])
    assert pixels.shape == (5, 32, 32, 3)
    by_path = dict(zip([i.path for i in dataset.items], pixels))
    gray = by_path["apple/gray.jpg"]
    assert np.allclose(gray[..., 0], gray[..., 1], atol=1) and 80 < gray.mean() < 100
    cmyk = by_path["apple/cmyk.jpg"]  # cyan: no red, full green and blue
    assert cmyk[..., 0].mean() < 40 and cmyk[..., 1].mean() > 200 and cmyk[..., 2].mean() > 200


def test_an_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.DataError, match="No data folder"):
        data.scan_folder(tmp_path / "nope")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(data.DataError, match="No readable images"):
        data.scan_folder(tmp_path / "empty")


def test_a_given_class_list_fixes_the_label_order(odd_tree):
    dataset = data.scan_folder(odd_tree, classes=["banana", "apple", "cherry"])
    assert {i.path.split("/")[0]: i.label for i in dataset.items} == {"banana": 0, "apple": 1}


def items(n_per_class, classes=3):
    return [data.Item(f"c{c}/img{i:03d}.jpg", c) for c in range(classes) for i in range(n_per_class)]


def test_split_is_stratified_disjoint_and_complete():
    split = data.split_items(items(20), seed=1, val=0.15, test=0.15)
    train, val, test = ({i.path for i in part} for part in (split.train, split.val, split.test))
    assert not (train & val or train & test or val & test)
    assert len(train | val | test) == 60
    for part, expected in ((split.test, 3), (split.val, 3)):
        assert sorted(i.label for i in part) == sorted([0, 1, 2] * expected)


def test_split_is_deterministic_for_a_seed_and_independent_of_input_order():
    a = data.split_items(items(10), seed=7)
    b = data.split_items(list(reversed(items(10))), seed=7)
    c = data.split_items(items(10), seed=8)
    assert a.to_json() == b.to_json()
    assert a.to_json()["test"] != c.to_json()["test"]


def test_small_classes_keep_one_validation_and_one_test_image():
    split = data.split_items(items(3, classes=2), seed=0)
    assert len(split.test) == len(split.val) == 2 and len(split.train) == 2
    json_form = split.to_json()
    assert json_form["counts"] == {"train": 2, "val": 2, "test": 2} and json_form["seed"] == 0


def test_kfold_partitions_stratified_folds():
    folds = data.kfold(items(9), k=3, seed=0)
    assert len(folds) == 3
    validation_sets = [{i.path for i in val} for _, val in folds]
    assert set().union(*validation_sets) == {i.path for i in items(9)}
    assert sum(len(v) for v in validation_sets) == 27
    for train, val in folds:
        assert not {i.path for i in train} & {i.path for i in val}
        assert sorted(i.label for i in val) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    with pytest.raises(data.DataError):
        data.kfold(items(9), k=1)


def test_unlabelled_scan_finds_images_at_any_depth(tmp_path):
    write(tmp_path / "u" / "a.jpg")
    write(tmp_path / "u" / "deep" / "er" / "b.png", fmt="PNG")
    (tmp_path / "u" / "bad.jpg").write_bytes(b"nope")
    found = data.scan_unlabelled(tmp_path / "u")
    assert sorted(i.path for i in found) == ["a.jpg", "deep/er/b.png"]
    assert all(i.label == -1 for i in found)


def test_files_with_the_same_content_are_found_whatever_their_names(tmp_path):
    a = write(tmp_path / "labelled" / "cat" / "a.jpg")
    write(tmp_path / "labelled" / "cat" / "b.jpg", colour=(0, 0, 200))
    (tmp_path / "unlabelled" / "sub").mkdir(parents=True)
    (tmp_path / "unlabelled" / "sub" / "renamed.jpg").write_bytes(a.read_bytes())
    write(tmp_path / "unlabelled" / "new.jpg", colour=(0, 150, 0))
    labelled = data.scan_folder(tmp_path / "labelled").items
    unlabelled = data.scan_unlabelled(tmp_path / "unlabelled")
    assert data.overlapping_files(tmp_path / "labelled", labelled, tmp_path / "unlabelled", unlabelled) == [
        ("cat/a.jpg", "sub/renamed.jpg")]
