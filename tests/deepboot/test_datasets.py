"""deepboot/datasets.py: the whole job of fetching a data set, and nothing left half-done."""

import io

import pytest

from deepboot import datasets, downloads
from deepboot.datasets import DatasetSpec
from tests.deepboot.test_downloads import copy_finish, server, sha256, zip_bytes  # noqa: F401  (server: a fixture)


def test_fetch_dataset_downloads_checks_extracts_and_finishes(server, tmp_path):
    data = zip_bytes({"set/cat/1.jpg": b"a", "set/dog/2.jpg": b"b"})
    server.files["/set.zip"] = data
    spec = DatasetSpec("demo", server.url("/set.zip"), sha256(data), "unused")
    dest = datasets.fetch_dataset(
        spec, tmp_path / "data/demo", downloads_dir=tmp_path / "dl", stdout=io.StringIO(), finish=copy_finish
    )
    assert (dest / "set/dog/2.jpg").read_bytes() == b"b"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["demo"]  # no staging left


def test_checksum_failure_leaves_nothing_behind(server, tmp_path):
    data = zip_bytes({"set/cat/1.jpg": b"a"})
    server.files["/set.zip"] = data
    spec = DatasetSpec("demo", server.url("/set.zip"), sha256(b"something else"), "unused")
    with pytest.raises(downloads.ChecksumError):
        datasets.fetch_dataset(spec, tmp_path / "data/demo", downloads_dir=tmp_path / "dl", finish=copy_finish)
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []
    assert list((tmp_path / "dl").iterdir()) == []  # the bad download is not kept for a "resume"


def test_failing_finish_leaves_no_half_extracted_data(tmp_path):
    archive = tmp_path / "set.zip"
    archive.write_bytes(zip_bytes({"set/cat/1.jpg": b"a"}))

    def broken_finish(extracted, dest, stdout):
        (dest / "partial").write_text("x")
        raise downloads.DownloadError("layout not recognised")

    spec = DatasetSpec("demo", "http://127.0.0.1:9/unused.zip", sha256(archive.read_bytes()), "unused")
    with pytest.raises(downloads.DownloadError, match="layout not recognised"):
        datasets.fetch_dataset(spec, tmp_path / "data/demo", archive=str(archive), finish=broken_finish)
    assert list((tmp_path / "data").iterdir()) == []
    assert archive.exists()  # a local archive is the user's: never deleted
