"""The whole job of fetching a public data set: get the archive (a URL or a local path), check
its checksum, extract it into a staging folder next to the destination, let the spec's `finish`
arrange the final layout there, then move the staging folder into place. Any failure removes the
staging folders: nothing is left half-extracted. No Django import.

Apps declare their data sets on their AppConfig:

    datasets = {"caltech101": "classifier.datasets.CALTECH101"}   # dotted path to a DatasetSpec

and `python manage.py fetch_dataset NAME` finds them there.
"""

import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .archives import safe_extract
from .downloads import ChecksumError, DownloadError, download, is_url, parse_checksum, verify_checksum


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
