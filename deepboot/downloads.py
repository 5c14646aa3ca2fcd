"""Download a file and check it. No Django import: plain functions.

The pieces of fetching a data set (deepboot/datasets.py puts them together), each usable alone:
- `download(url, path)`: streams to `path.part` with a progress bar, resumes a broken download
  with an HTTP Range request (on a retry here, or on the next run), and renames to `path` at the end.
- `verify_checksum(path, "md5:<hex>" | "sha256:<hex>")`: raises ChecksumError on a mismatch.
- `safe_extract(archive, dest)` (deepboot/archives.py): zip, tar, tar.gz/tgz, tar.bz2, tar.xz. Every member is checked
  BEFORE anything is written: absolute paths, `..` components, links (symbolic or hard) whose
  target leaves `dest`, and device files / FIFOs are refused with UnsafeArchiveError.
- `fetch_dataset(spec, dest, ...)` (deepboot/datasets.py): the whole job for one `DatasetSpec`: get the archive (a URL or
  a local path), check its checksum, extract it into a staging folder next to `dest`, let the
  spec's `finish(extracted, staging, stdout)` arrange the final layout there, then move the staging
  folder to `dest`. Any failure removes the staging folders: nothing is left half-extracted.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CHUNK = 1024 * 1024
USER_AGENT = "DeepBoot-fetch_dataset/1.0 (+https://github.com/)"


class DownloadError(Exception):
    """A download, checksum or extraction we could not complete; the message says why."""


class ChecksumError(DownloadError):
    pass


# --------------------------------------------------------------------------------------- checksums

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")


def parse_checksum(text):
    """("md5" | "sha256" | …, lower-case hex) from "md5:<hex>"; ValueError when malformed."""
    algorithm, _, digest = (text or "").strip().partition(":")
    algorithm = algorithm.lower()
    digest = digest.strip().lower()
    if algorithm not in ALGORITHMS or not digest:
        raise ValueError(f"A checksum looks like md5:<hex> or sha256:<hex>, not {text!r}.")
    expected_length = hashlib.new(algorithm).digest_size * 2
    if len(digest) != expected_length or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"A {algorithm} checksum has {expected_length} hex digits: {text!r}.")
    return algorithm, digest


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path, checksum, stdout=None):
    """Raise ChecksumError unless the file's digest is the expected one."""
    algorithm, expected = parse_checksum(checksum)
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"Checksum mismatch for {Path(path).name}: expected {algorithm}:{expected}, "
            f"got {algorithm}:{actual}. The file is corrupt or not the expected archive."
        )
    if stdout is not None:
        stdout.write(f"  {algorithm} checksum OK ({actual})\n")


# ---------------------------------------------------------------------------------------- download


class Progress:
    """A one-line progress bar (bytes, percent, speed), redrawn at most ~5 times a second."""

    def __init__(self, stdout, total, start=0, label="downloading"):
        self.stdout = stdout
        self.total = total
        self.done = start
        self.start_bytes = start
        self.label = label
        self.started = time.monotonic()
        self.last_draw = 0.0

    def update(self, n):
        self.done += n
        now = time.monotonic()
        if now - self.last_draw >= 0.2:
            self.draw(now)

    def draw(self, now=None, end=""):
        if self.stdout is None:
            return
        now = now or time.monotonic()
        self.last_draw = now
        elapsed = max(now - self.started, 1e-6)
        speed = (self.done - self.start_bytes) / elapsed
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * 30)
            bar = "[" + "=" * filled + ">" * (filled < 30) + " " * (29 - filled) + "]"
            text = f"{bar} {_size(self.done)}/{_size(self.total)} {fraction:6.1%}"
        else:
            text = f"{_size(self.done)}"
        self.stdout.write(f"\r  {self.label} {text} {_size(speed)}/s{end}")
        if hasattr(self.stdout, "flush"):
            self.stdout.flush()

    def close(self):
        self.draw(end="\n")


def _size(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def is_url(source):
    return urllib.parse.urlparse(str(source)).scheme in ("http", "https", "ftp", "file")


def download(url, path, *, stdout=None, retries=3, timeout=60, chunk_size=CHUNK, wait=1.0):
    """Download `url` to `path`, resuming from `path.part` after a broken transfer.

    A connection that drops is retried (up to `retries` times) with `Range: bytes=<have>-`; a
    server that ignores Range gets the file from the start again. A `.part` file left by an
    earlier, interrupted run is resumed the same way. Returns `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    attempt = 0
    while True:
        try:
            _download_once(url, part, stdout=stdout, timeout=timeout, chunk_size=chunk_size)
            break
        except (urllib.error.URLError, OSError, _Incomplete) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code not in (408, 429, 500, 502, 503, 504):
                raise DownloadError(f"Download failed: {url} answered HTTP {exc.code} {exc.reason}.") from exc
            attempt += 1
            if attempt > retries:
                raise DownloadError(
                    f"Download of {url} failed after {retries} retries ({exc}). "
                    f"Run the command again to resume from {_size(_size_of(part))}."
                ) from exc
            if stdout is not None:
                stdout.write(f"\n  connection broken ({exc}); resuming from {_size(_size_of(part))} "
                             f"(retry {attempt}/{retries})\n")
            time.sleep(wait)
    os.replace(part, path)
    return path


class _Incomplete(Exception):
    """The server closed the connection before sending Content-Length bytes."""


def _size_of(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _download_once(url, part, *, stdout, timeout, chunk_size):
    have = _size_of(part)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Nothing left to send: the .part file is already whole.
            return
        raise
    with response:
        status = getattr(response, "status", 200)
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if have and status == 206:
            mode, start = "ab", have
            if stdout is not None:
                stdout.write(f"  resuming at {_size(have)}\n")
        else:
            mode, start = "wb", 0
        total = start + length if length is not None else None
        progress = Progress(stdout, total, start=start)
        received = 0
        with open(part, mode) as handle:
            while True:
                block = response.read(chunk_size)
                if not block:
                    break
                handle.write(block)
                received += len(block)
                progress.update(len(block))
        progress.close()
    if length is not None and received < length:
        raise _Incomplete(f"got {received} of {length} bytes")
