"""Fetch a data set archive, check it, and unpack it safely. No Django import: plain functions.

The pieces, each usable alone:
- `download(url, path)`: streams to `path.part` with a progress bar, resumes a broken download
  with an HTTP Range request (on a retry here, or on the next run), and renames to `path` at the end.
- `verify_checksum(path, "md5:<hex>" | "sha256:<hex>")`: raises ChecksumError on a mismatch.
- `safe_extract(archive, dest)`: zip, tar, tar.gz/tgz, tar.bz2, tar.xz. Every member is checked
  BEFORE anything is written: absolute paths, `..` components, links (symbolic or hard) whose
  target leaves `dest`, and device files / FIFOs are refused with UnsafeArchiveError.
- `fetch_dataset(spec, dest, ...)`: the whole job for one `DatasetSpec`: get the archive (a URL or
  a local path), check its checksum, extract it into a staging folder next to `dest`, let the
  spec's `finish(extracted, staging, stdout)` arrange the final layout there, then move the staging
  folder to `dest`. Any failure removes the staging folders: nothing is left half-extracted.

Apps declare their data sets on their AppConfig:

    datasets = {"caltech101": "classifier.datasets.CALTECH101"}   # dotted path to a DatasetSpec

and `python manage.py fetch_dataset NAME` finds them there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CHUNK = 1024 * 1024
USER_AGENT = "DeepBoot-fetch_dataset/1.0 (+https://github.com/)"


@dataclass(frozen=True)
class DatasetSpec:
    """A public data set: where its archive lives and how to lay it out once extracted."""

    name: str
    """Short name used on the command line: "caltech101", "voc2007"."""
    url: str
    """The official archive URL."""
    checksum: str
    """"md5:<hex>" or "sha256:<hex>" of that archive."""
    finish: str
    """Dotted path of `finish(extracted: Path, dest: Path, stdout) -> None`, which arranges the
    final layout in `dest` from the extracted tree."""
    description: str = ""


class DownloadError(Exception):
    """A download, checksum or extraction we could not complete; the message says why."""


class ChecksumError(DownloadError):
    pass


class UnsafeArchiveError(DownloadError):
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


def obtain_archive(source, downloads_dir, *, stdout=None, retries=3):
    """A local archive path for `source` (a URL, which is downloaded, or a local path)."""
    source = str(source)
    if is_url(source) and not source.startswith("file:"):
        name = Path(urllib.parse.urlparse(source).path).name or "archive"
        target = Path(downloads_dir) / name
        if target.exists():
            if stdout is not None:
                stdout.write(f"  using the archive already downloaded: {target}\n")
            return target, True
        if stdout is not None:
            stdout.write(f"  downloading {source}\n  to {target}\n")
        return download(source, target, stdout=stdout, retries=retries), True
    if source.startswith("file:"):
        source = urllib.request.url2pathname(urllib.parse.urlparse(source).path)
    path = Path(source).expanduser()
    if not path.is_file():
        raise DownloadError(f"No archive at {path}.")
    if stdout is not None:
        stdout.write(f"  using the local archive {path}\n")
    return path, False


# ---------------------------------------------------------------------------------------- extraction


def archive_kind(path):
    path = Path(path)
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        pass
    raise DownloadError(f"{path.name} is neither a zip nor a tar archive.")


def _check_member_name(name):
    """The normalised relative path of a member, or UnsafeArchiveError."""
    if not name or "\x00" in name:
        raise UnsafeArchiveError(f"Refused archive: a member has an invalid name {name!r}.")
    unified = name.replace("\\", "/")
    pure = PurePosixPath(unified)
    if unified.startswith("/") or pure.is_absolute() or (len(unified) > 1 and unified[1] == ":"):
        raise UnsafeArchiveError(f"Refused archive: member {name!r} has an absolute path.")
    if ".." in pure.parts:
        raise UnsafeArchiveError(f"Refused archive: member {name!r} points outside the destination (..).")
    return pure


def _inside(dest, relative):
    """True when dest/relative (normalised, without following links) stays in dest."""
    dest = os.path.abspath(dest)
    target = os.path.abspath(os.path.join(dest, relative))
    return target == dest or target.startswith(dest + os.sep)


def check_tar_members(archive, dest):
    """Validate every member of an open TarFile; return the list of members."""
    members = archive.getmembers()
    for member in members:
        pure = _check_member_name(member.name)
        if member.issym():
            link = member.linkname.replace("\\", "/")
            if link.startswith("/") or not _inside(dest, os.path.join(str(pure.parent), link)):
                raise UnsafeArchiveError(
                    f"Refused archive: symbolic link {member.name!r} -> {member.linkname!r} points outside."
                )
        elif member.islnk():
            link = member.linkname.replace("\\", "/")
            if link.startswith("/") or ".." in PurePosixPath(link).parts or not _inside(dest, link):
                raise UnsafeArchiveError(
                    f"Refused archive: hard link {member.name!r} -> {member.linkname!r} points outside."
                )
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"Refused archive: {member.name!r} is a device file or FIFO.")
    return members


def check_zip_members(archive, dest):
    """Validate every member of an open ZipFile; return the list of infos."""
    infos = archive.infolist()
    for info in infos:
        pure = _check_member_name(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            link = archive.read(info).decode("utf-8", "replace").replace("\\", "/")
            if link.startswith("/") or not _inside(dest, os.path.join(str(pure.parent), link)):
                raise UnsafeArchiveError(
                    f"Refused archive: symbolic link {info.filename!r} -> {link!r} points outside."
                )
    return infos


def safe_extract(archive_path, dest, *, stdout=None):
    """Extract a zip or tar archive into `dest`, refusing (before writing anything) any member
    that could land outside it. Returns `dest`."""
    archive_path, dest = Path(archive_path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    kind = archive_kind(archive_path)
    started = time.monotonic()
    if kind == "zip":
        with zipfile.ZipFile(archive_path) as archive:
            infos = check_zip_members(archive, dest)
            for info in infos:
                archive.extract(info, dest)
            count = len(infos)
    else:
        with tarfile.open(archive_path) as archive:
            members = check_tar_members(archive, dest)
            # Python's own "data" filter checks the same things again as it writes.
            archive.extractall(dest, members=members, filter="data")
            count = len(members)
    if stdout is not None:
        stdout.write(f"  extracted {count} entries from {archive_path.name} in {time.monotonic() - started:.1f}s\n")
    return dest


# ---------------------------------------------------------------------------------------- the job


def _import(dotted):
    module_name, _, attribute = dotted.rpartition(".")
    module = __import__(module_name, fromlist=[attribute])
    return getattr(module, attribute)


def fetch_dataset(spec, dest, *, archive=None, checksum=None, downloads_dir=None, stdout=None,
                  force=False, retries=3, finish=None):
    """Get, check, extract and lay out `spec` in `dest`. Returns `dest`.

    archive: a URL or local path instead of `spec.url`; checksum: instead of `spec.checksum`
    (for a mirror or a test archive); downloads_dir: where downloads are kept (resumable);
    force: replace an existing, non-empty `dest`; finish: a callable instead of `spec.finish`.
    """
    stdout = stdout or sys.stdout
    dest = Path(dest).resolve()
    checksum = checksum or spec.checksum
    parse_checksum(checksum)
    if dest.exists() and any(dest.iterdir()) and not force:
        raise DownloadError(f"{dest} already holds data; pass --force to replace it.")
    downloads_dir = Path(downloads_dir or dest.parent / "downloads")
    source = archive or spec.url
    started = time.monotonic()
    stdout.write(f"Fetching {spec.name}{f' ({spec.description})' if spec.description else ''}\n")
    archive_path, downloaded = obtain_archive(source, downloads_dir, stdout=stdout, retries=retries)
    try:
        verify_checksum(archive_path, checksum, stdout=stdout)
    except ChecksumError:
        if downloaded:
            archive_path.unlink(missing_ok=True)  # a bad download must not be "resumed" next time
        raise
    finish = finish or _import(spec.finish)
    dest.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=dest.parent))
    try:
        extracted = safe_extract(archive_path, workdir / "extracted", stdout=stdout)
        staging = workdir / "final"
        staging.mkdir()
        finish(extracted, staging, stdout)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stdout.write(f"{spec.name} is ready in {dest} ({time.monotonic() - started:.1f}s)\n")
    return dest
