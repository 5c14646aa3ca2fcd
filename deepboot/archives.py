"""Unpack a zip or tar archive safely: every member is checked BEFORE anything is written
(absolute paths, `..` components, links whose target leaves the destination, device files and
FIFOs are refused with UnsafeArchiveError). No Django import."""

import os
import stat
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from .downloads import DownloadError


class UnsafeArchiveError(DownloadError):
    pass


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
