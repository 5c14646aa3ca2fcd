"""deepboot/archives.py: safe extraction refuses hostile members before writing anything."""

import io
import tarfile
import zipfile

import pytest

from deepboot import archives, downloads
from tests.deepboot.test_downloads import add_file, add_link, tar_bytes, zip_bytes


def test_zip_and_tar_gz_extract(tmp_path):
    (tmp_path / "a.zip").write_bytes(zip_bytes({"root/cls/a.jpg": b"1", "root/cls/b.jpg": b"2"}))
    archives.safe_extract(tmp_path / "a.zip", tmp_path / "z")
    assert (tmp_path / "z/root/cls/b.jpg").read_bytes() == b"2"
    (tmp_path / "a.tar.gz").write_bytes(tar_bytes(lambda t: add_file(t, "root/cls/c.jpg", b"3")))
    archives.safe_extract(tmp_path / "a.tar.gz", tmp_path / "t")
    assert (tmp_path / "t/root/cls/c.jpg").read_bytes() == b"3"


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda t: add_file(t, "../evil.txt"), r"\.\."),
        (lambda t: add_file(t, "ok/../../evil.txt"), r"\.\."),
        (lambda t: add_file(t, "/tmp/evil.txt"), "absolute"),
        (lambda t: add_link(t, "link", "/etc/passwd"), "symbolic link"),
        (lambda t: add_link(t, "dir/link", "../../outside"), "symbolic link"),
        (lambda t: add_link(t, "hard", "/etc/passwd", tarfile.LNKTYPE), "hard link"),
        (lambda t: add_link(t, "hard", "../x", tarfile.LNKTYPE), "hard link"),
    ],
)
def test_hostile_tar_is_refused_before_anything_is_written(tmp_path, build, message):
    def add(archive):
        add_file(archive, "innocent.txt")
        build(archive)

    (tmp_path / "bad.tar.gz").write_bytes(tar_bytes(add))
    dest = tmp_path / "out"
    with pytest.raises(archives.UnsafeArchiveError, match=message):
        archives.safe_extract(tmp_path / "bad.tar.gz", dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_device_files_in_a_tar_are_refused(tmp_path):
    def add(archive):
        info = tarfile.TarInfo("dev")
        info.type = tarfile.CHRTYPE
        archive.addfile(info)

    (tmp_path / "bad.tar").write_bytes(tar_bytes(add))
    with pytest.raises(archives.UnsafeArchiveError, match="device"):
        archives.safe_extract(tmp_path / "bad.tar", tmp_path / "out")


def test_a_link_inside_the_tree_is_allowed(tmp_path):
    def add(archive):
        add_file(archive, "d/real.txt", b"r")
        add_link(archive, "d/alias.txt", "real.txt")

    (tmp_path / "ok.tar.gz").write_bytes(tar_bytes(add))
    archives.safe_extract(tmp_path / "ok.tar.gz", tmp_path / "out")
    assert (tmp_path / "out/d/alias.txt").read_bytes() == b"r"


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "C:/evil.txt"])
def test_hostile_zip_is_refused(tmp_path, name):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", b"ok")
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # ZipInfo() itself strips some of these; the raw name is what matters
        archive.writestr(info, b"evil")
    (tmp_path / "bad.zip").write_bytes(buffer.getvalue())
    with pytest.raises(archives.UnsafeArchiveError):
        archives.safe_extract(tmp_path / "bad.zip", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_zip_symlink_pointing_out_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "../../etc/passwd")
    (tmp_path / "bad.zip").write_bytes(buffer.getvalue())
    with pytest.raises(archives.UnsafeArchiveError, match="symbolic link"):
        archives.safe_extract(tmp_path / "bad.zip", tmp_path / "out")


def test_not_an_archive_is_a_clear_error(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not an archive at all")
    with pytest.raises(downloads.DownloadError, match="neither a zip nor a tar"):
        archives.safe_extract(tmp_path / "x.zip", tmp_path / "out")


# ------------------------------------------------------------------ the whole job
