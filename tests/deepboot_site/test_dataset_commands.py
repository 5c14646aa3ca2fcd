"""fetch_dataset and make_demo_data from the shell (call_command), on archives served over 127.0.0.1."""

import hashlib
import io
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.deepboot.test_downloads import ArchiveServer, add_file, tar_bytes


def jpeg_bytes(colour=(200, 10, 10)):
    buffer = io.BytesIO()
    Image.new("RGB", (12, 9), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def caltech_like_zip():
    """caltech-101.zip's shape: a zip holding caltech-101/101_ObjectCategories.tar.gz."""

    def add(archive):
        for name in ("accordion", "airplanes", "BACKGROUND_Google"):
            for index in (1, 2):
                add_file(archive, f"101_ObjectCategories/{name}/image_{index:04d}.jpg", jpeg_bytes())

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("caltech-101/101_ObjectCategories.tar.gz", tar_bytes(add))
        archive.writestr("caltech-101/show_annotation.m", b"% matlab")
        archive.writestr("__MACOSX/caltech-101/._101_ObjectCategories.tar.gz", b"junk")
    return buffer.getvalue()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def server():
    instance = ArchiveServer()
    yield instance
    instance.close()


def test_fetch_caltech101_over_http_resumes_and_lays_out_class_folders(server, tmp_path):
    data = caltech_like_zip()
    server.files["/caltech-101.zip"] = data
    server.cut_after, server.cuts_left = len(data) // 3, 1
    dest = tmp_path / "caltech101"
    output = run(
        "fetch_dataset", "caltech101", "--dest", str(dest), "--archive", server.url("/caltech-101.zip"),
        "--checksum", sha256(data), "--downloads", str(tmp_path / "dl"),
    )
    assert sorted(p.name for p in dest.iterdir()) == ["accordion", "airplanes"]
    assert sorted(p.name for p in (dest / "airplanes").iterdir()) == ["image_0001.jpg", "image_0002.jpg"]
    assert "leaving out BACKGROUND_Google" in output and "checksum OK" in output
    assert any(r == f"bytes={len(data) // 3}-" for _, r in server.requests)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["caltech101", "dl"]


def test_fetch_from_a_local_archive_path(tmp_path):
    archive = tmp_path / "caltech-101.zip"
    archive.write_bytes(caltech_like_zip())
    dest = tmp_path / "out"
    run("fetch_dataset", "caltech101", "--dest", str(dest), "--archive", str(archive),
        "--checksum", sha256(archive.read_bytes()))
    assert (dest / "accordion" / "image_0001.jpg").exists()
    assert not (dest / "BACKGROUND_Google").exists()


def test_fetch_with_a_wrong_checksum_is_a_command_error_and_leaves_nothing(server, tmp_path):
    server.files["/caltech-101.zip"] = caltech_like_zip()
    dest = tmp_path / "data" / "caltech101"
    with pytest.raises(CommandError, match="Checksum mismatch"):
        run("fetch_dataset", "caltech101", "--dest", str(dest), "--archive", server.url("/caltech-101.zip"),
            "--checksum", "md5:" + "0" * 32, "--downloads", str(tmp_path / "dl"))
    assert not dest.exists()
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []
    assert list((tmp_path / "dl").iterdir()) == []


def test_fetch_of_a_hostile_archive_is_refused(tmp_path):
    def add(archive):
        add_file(archive, "101_ObjectCategories/cat/a.jpg", jpeg_bytes())
        add_file(archive, "../../escaped.jpg", jpeg_bytes())

    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(tar_bytes(add))
    dest = tmp_path / "data" / "caltech101"
    with pytest.raises(CommandError, match="Refused archive"):
        run("fetch_dataset", "caltech101", "--dest", str(dest), "--archive", str(archive),
            "--checksum", sha256(archive.read_bytes()))
    assert not dest.exists() and not (tmp_path / "escaped.jpg").exists()
    assert list((tmp_path / "data").iterdir()) == []  # the staging folder is gone too


def test_fetch_with_a_malformed_checksum_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="md5:<hex>"):
        run("fetch_dataset", "caltech101", "--archive", str(tmp_path / "x.zip"), "--checksum", "abc")


def test_fetch_refuses_to_overwrite_existing_data_without_force(tmp_path):
    archive = tmp_path / "c.zip"
    archive.write_bytes(caltech_like_zip())
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="--force"):
        run("fetch_dataset", "caltech101", "--dest", str(dest), "--archive", str(archive),
            "--checksum", sha256(archive.read_bytes()))
    assert (dest / "keep.txt").read_text() == "mine"
    run("fetch_dataset", "caltech101", "--dest", str(dest), "--archive", str(archive),
        "--checksum", sha256(archive.read_bytes()), "--force")
    assert not (dest / "keep.txt").exists() and (dest / "airplanes").is_dir()


def test_make_demo_data_classification_writes_class_folders_of_jpegs(tmp_path):
    dest = tmp_path / "demo"
    output = run("make_demo_data", "classification", "--dest", str(dest), "--per-class", "3", "--seed", "4")
    classes = sorted(p.name for p in dest.iterdir())
    assert len(classes) >= 5
    sizes = set()
    for name in classes:
        files = sorted((dest / name).glob("*.jpg"))
        assert len(files) == 3
        for path in files:
            with Image.open(path) as image:
                assert image.format == "JPEG"
                sizes.add(image.size)
    assert len(sizes) > 5  # varied sizes
    assert "Demo data ready" in output


def test_make_demo_data_is_deterministic_per_seed(tmp_path):
    run("make_demo_data", "classification", "--dest", str(tmp_path / "a"), "--per-class", "2", "--seed", "1")
    run("make_demo_data", "classification", "--dest", str(tmp_path / "b"), "--per-class", "2", "--seed", "1")
    run("make_demo_data", "classification", "--dest", str(tmp_path / "c"), "--per-class", "2", "--seed", "2")
    a = sorted((tmp_path / "a").rglob("*.jpg"))
    b = sorted((tmp_path / "b").rglob("*.jpg"))
    c = sorted((tmp_path / "c").rglob("*.jpg"))
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]


def test_make_demo_data_refuses_a_non_empty_dest_without_force(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(CommandError, match="--force"):
        run("make_demo_data", "classification", "--dest", str(tmp_path / "d"))


def test_make_demo_data_rejects_a_bad_count(tmp_path):
    with pytest.raises(CommandError, match="per-class"):
        run("make_demo_data", "classification", "--dest", str(tmp_path / "d"), "--per-class", "0")
