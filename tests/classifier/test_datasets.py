"""classifier/datasets.py: Caltech-101's finish step lays out <class>/*.jpg from what was extracted."""

import io
import tarfile

import pytest

from classifier import datasets
from deepboot.downloads import DownloadError


def tarball(path, names):
    with tarfile.open(path, "w:gz") as archive:
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 3
            archive.addfile(info, io.BytesIO(b"jpg"))


def test_finish_unpacks_the_inner_tarball_and_drops_the_background_class(tmp_path):
    extracted = tmp_path / "extracted"
    (extracted / "caltech-101").mkdir(parents=True)
    tarball(extracted / "caltech-101" / datasets.INNER_TARBALL, [
        "101_ObjectCategories/Faces/image_0001.jpg", "101_ObjectCategories/ant/image_0001.jpg",
        "101_ObjectCategories/ant/image_0002.jpg", "101_ObjectCategories/BACKGROUND_Google/image_0001.jpg",
    ])
    dest = tmp_path / "dest"
    dest.mkdir()
    out = io.StringIO()
    datasets.finish_caltech101(extracted, dest, out)
    assert sorted(p.name for p in dest.iterdir()) == ["Faces", "ant"]
    assert len(list((dest / "ant").glob("*.jpg"))) == 2
    assert "leaving out BACKGROUND_Google" in out.getvalue() and "2 classes, 3 images" in out.getvalue()
    assert "differs from the official tarball" in out.getvalue()  # a test tarball, said so


def test_finish_accepts_an_already_extracted_tree(tmp_path):
    (tmp_path / "x" / "101_ObjectCategories" / "cup").mkdir(parents=True)
    (tmp_path / "x" / "101_ObjectCategories" / "cup" / "a.jpg").write_bytes(b"j")
    dest = tmp_path / "dest"
    dest.mkdir()
    datasets.finish_caltech101(tmp_path / "x", dest, io.StringIO())
    assert (dest / "cup" / "a.jpg").exists()


def test_finish_refuses_an_archive_without_images(tmp_path):
    (tmp_path / "x" / "docs").mkdir(parents=True)
    (tmp_path / "x" / "docs" / "readme.txt").write_text("nothing here")
    with pytest.raises(DownloadError, match="neither 101_ObjectCategories nor class folders"):
        datasets.finish_caltech101(tmp_path / "x", tmp_path, io.StringIO())


def test_the_spec_points_at_the_official_archive_with_a_checksum():
    from deepboot.downloads import parse_checksum

    assert datasets.CALTECH101.url.startswith("https://data.caltech.edu/")
    assert parse_checksum(datasets.CALTECH101.checksum)[0] == "sha256"
    assert datasets.CALTECH101.finish == "classifier.datasets.finish_caltech101"
