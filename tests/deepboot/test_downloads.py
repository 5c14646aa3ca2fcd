"""deepboot/downloads.py: download with resume and checksums (and the test archive server and
archive builders the archive and data set tests share)."""

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from deepboot import downloads


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
