"""deepboot/downloads.py: download with resume, checksums, safe extraction, the whole job."""

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from deepboot import downloads
from deepboot.downloads import DatasetSpec


# ------------------------------------------------------------------ a local HTTP server with Range


class ArchiveServer:
    """Serves named byte strings over 127.0.0.1 with Range support; can cut the first N responses."""

    def __init__(self):
        self.files = {}
        self.requests = []  # (path, Range header or None)
        self.cut_after = None  # bytes sent before dropping the connection
        self.cuts_left = 0
        self.honour_range = True
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                header = self.headers.get("Range")
                if header and server.honour_range:
                    start = int(header.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if server.cuts_left and server.cut_after is not None:
                    server.cuts_left -= 1
                    self.wfile.write(body[: server.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    instance = ArchiveServer()
    yield instance
    instance.close()


def zip_bytes(members):
    """A zip archive of {name: bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(add):
    """A tar.gz archive built by `add(tarfile)`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        add(archive)
    return buffer.getvalue()


def add_file(archive, name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def add_link(archive, name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    archive.addfile(info)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def copy_finish(extracted, dest, stdout):
    for path in Path(extracted).rglob("*"):
        if path.is_file():
            target = dest / path.relative_to(extracted)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())


# ------------------------------------------------------------------ checksums


def test_checksum_parsing_accepts_md5_and_sha256_and_refuses_nonsense():
    assert downloads.parse_checksum("MD5:" + "A" * 32) == ("md5", "a" * 32)
    assert downloads.parse_checksum("sha256:" + "0" * 64)[0] == "sha256"
    for bad in ("", "md5", "crc32:abcd", "md5:xyz", "sha256:" + "0" * 63):
        with pytest.raises(ValueError):
            downloads.parse_checksum(bad)


def test_verify_checksum_raises_on_mismatch(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"hello")
    downloads.verify_checksum(path, "md5:" + hashlib.md5(b"hello").hexdigest())
    with pytest.raises(downloads.ChecksumError, match="Checksum mismatch"):
        downloads.verify_checksum(path, "md5:" + hashlib.md5(b"other").hexdigest())


# ------------------------------------------------------------------ download and resume


def test_download_streams_the_file_with_a_progress_bar(server, tmp_path):
    data = bytes(range(256)) * 4000
    server.files["/a.zip"] = data
    out = io.StringIO()
    path = downloads.download(server.url("/a.zip"), tmp_path / "a.zip", stdout=out, chunk_size=8192)
    assert path.read_bytes() == data
    assert not (tmp_path / "a.zip.part").exists()
    assert "100.0%" in out.getvalue()


def test_broken_download_resumes_with_a_range_request(server, tmp_path):
    data = bytes(range(256)) * 4000
    server.files["/a.zip"] = data
    server.cut_after, server.cuts_left = 300_000, 1
    out = io.StringIO()
    path = downloads.download(server.url("/a.zip"), tmp_path / "a.zip", stdout=out, wait=0, chunk_size=8192)
    assert path.read_bytes() == data
    assert server.requests[0][1] is None
    assert server.requests[1][1] == "bytes=300000-"
    assert "resuming" in out.getvalue()


def test_a_part_file_left_by_an_earlier_run_is_resumed(server, tmp_path):
    data = b"0123456789" * 10_000
    server.files["/a.zip"] = data
    (tmp_path / "a.zip.part").write_bytes(data[:12_345])
    downloads.download(server.url("/a.zip"), tmp_path / "a.zip", stdout=io.StringIO())
    assert (tmp_path / "a.zip").read_bytes() == data
    assert server.requests == [("/a.zip", "bytes=12345-")]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = b"abcdefghij" * 5_000
    server.files["/a.zip"] = data
    server.honour_range = False
    (tmp_path / "a.zip.part").write_bytes(b"garbage")
    downloads.download(server.url("/a.zip"), tmp_path / "a.zip")
    assert (tmp_path / "a.zip").read_bytes() == data


def test_download_that_keeps_breaking_fails_clearly_and_keeps_the_part(server, tmp_path):
    server.files["/a.zip"] = b"x" * 100_000
    server.cut_after, server.cuts_left = 10, 10
    with pytest.raises(downloads.DownloadError, match="Run the command again to resume"):
        downloads.download(server.url("/a.zip"), tmp_path / "a.zip", retries=2, wait=0)
    assert (tmp_path / "a.zip.part").stat().st_size == 30


def test_missing_file_is_a_clear_error(server, tmp_path):
    with pytest.raises(downloads.DownloadError, match="HTTP 404"):
        downloads.download(server.url("/nope.zip"), tmp_path / "nope.zip")


# ------------------------------------------------------------------ safe extraction


def test_zip_and_tar_gz_extract(tmp_path):
    (tmp_path / "a.zip").write_bytes(zip_bytes({"root/cls/a.jpg": b"1", "root/cls/b.jpg": b"2"}))
    downloads.safe_extract(tmp_path / "a.zip", tmp_path / "z")
    assert (tmp_path / "z/root/cls/b.jpg").read_bytes() == b"2"
    (tmp_path / "a.tar.gz").write_bytes(tar_bytes(lambda t: add_file(t, "root/cls/c.jpg", b"3")))
    downloads.safe_extract(tmp_path / "a.tar.gz", tmp_path / "t")
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
    with pytest.raises(downloads.UnsafeArchiveError, match=message):
        downloads.safe_extract(tmp_path / "bad.tar.gz", dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_device_files_in_a_tar_are_refused(tmp_path):
    def add(archive):
        info = tarfile.TarInfo("dev")
        info.type = tarfile.CHRTYPE
        archive.addfile(info)

    (tmp_path / "bad.tar").write_bytes(tar_bytes(add))
    with pytest.raises(downloads.UnsafeArchiveError, match="device"):
        downloads.safe_extract(tmp_path / "bad.tar", tmp_path / "out")


def test_a_link_inside_the_tree_is_allowed(tmp_path):
    def add(archive):
        add_file(archive, "d/real.txt", b"r")
        add_link(archive, "d/alias.txt", "real.txt")

    (tmp_path / "ok.tar.gz").write_bytes(tar_bytes(add))
    downloads.safe_extract(tmp_path / "ok.tar.gz", tmp_path / "out")
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
    with pytest.raises(downloads.UnsafeArchiveError):
        downloads.safe_extract(tmp_path / "bad.zip", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_zip_symlink_pointing_out_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "../../etc/passwd")
    (tmp_path / "bad.zip").write_bytes(buffer.getvalue())
    with pytest.raises(downloads.UnsafeArchiveError, match="symbolic link"):
        downloads.safe_extract(tmp_path / "bad.zip", tmp_path / "out")


def test_not_an_archive_is_a_clear_error(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not an archive at all")
    with pytest.raises(downloads.DownloadError, match="neither a zip nor a tar"):
        downloads.safe_extract(tmp_path / "x.zip", tmp_path / "out")


# ------------------------------------------------------------------ the whole job


def test_fetch_dataset_downloads_checks_extracts_and_finishes(server, tmp_path):
    data = zip_bytes({"set/cat/1.jpg": b"a", "set/dog/2.jpg": b"b"})
    server.files["/set.zip"] = data
    spec = DatasetSpec("demo", server.url("/set.zip"), sha256(data), "unused")
    dest = downloads.fetch_dataset(
        spec, tmp_path / "data/demo", downloads_dir=tmp_path / "dl", stdout=io.StringIO(), finish=copy_finish
    )
    assert (dest / "set/dog/2.jpg").read_bytes() == b"b"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["demo"]  # no staging left


def test_checksum_failure_leaves_nothing_behind(server, tmp_path):
    data = zip_bytes({"set/cat/1.jpg": b"a"})
    server.files["/set.zip"] = data
    spec = DatasetSpec("demo", server.url("/set.zip"), sha256(b"something else"), "unused")
    with pytest.raises(downloads.ChecksumError):
        downloads.fetch_dataset(spec, tmp_path / "data/demo", downloads_dir=tmp_path / "dl", finish=copy_finish)
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
        downloads.fetch_dataset(spec, tmp_path / "data/demo", archive=str(archive), finish=broken_finish)
    assert list((tmp_path / "data").iterdir()) == []
    assert archive.exists()  # a local archive is the user's: never deleted
