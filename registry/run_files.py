"""A run's artefacts as files staff can open: the run's output folder (where its model was saved),
the files in it, and the one check that decides whether a requested path may be served."""

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

PREVIEWS = {".png": "image", ".jpg": "image", ".jpeg": "image", ".json": "text", ".txt": "text", ".csv": "text", ".log": "text"}
SKIPPED_FOLDERS = {"checkpoints", "__pycache__"}
MAX_FILES = 200


class NotServed(Exception):
    """A requested artefact that is not a file inside the run's output folder."""


@dataclass
class Artefact:
    path: str  # relative to the run's output folder, with forward slashes
    label: str  # the name the run recorded it under (model, curves…), or the file name
    size: int
    preview: str | None  # "image", "text" or None (download only)


def _var():
    return Path(settings.VAR_DIR).resolve()


def _stored_path(stored):
    path = Path(stored)
    return (path if path.is_absolute() else _var() / path).resolve()


def output_dir(run):
    """The run's output folder: the folder its model (or else its first artefact) was saved in,
    when that is a folder of its own under var/ (never var/ itself or a shared top folder)."""
    artifacts = run.artifacts if isinstance(run.artifacts, dict) else {}
    stored = artifacts.get("model") or next((v for v in artifacts.values() if isinstance(v, str)), None)
    if not isinstance(stored, str) or not stored:
        return None
    folder = _stored_path(stored).parent
    var = _var()
    if not folder.is_relative_to(var) or len(folder.relative_to(var).parts) < 2:
        return None
    return folder


def artefacts(run):
    """Every file in the run's output folder (checkpoints left out), recorded ones first."""
    folder = output_dir(run)
    if folder is None or not folder.is_dir():
        return []
    labels = {}
    for name, stored in (run.artifacts or {}).items():
        if isinstance(stored, str):
            labels.setdefault(_stored_path(stored), name)
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in SKIPPED_FOLDERS for part in relative.parts[:-1]) or not path.is_file() or path.is_symlink():
            continue
        found.append(Artefact(relative.as_posix(), labels.get(path.resolve(), path.name), path.stat().st_size,
                              PREVIEWS.get(path.suffix.lower())))
        if len(found) >= MAX_FILES:
            break
    found.sort(key=lambda a: (a.label == PurePosixPath(a.path).name, a.path))
    return found


def resolve(run, relative):
    """The file `relative` names inside the run's output folder; NotServed for anything else
    (`..`, absolute paths, links leading out, folders, missing files, runs without a folder)."""
    folder = output_dir(run)
    if folder is None:
        raise NotServed("This run has no output folder to serve files from.")
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise NotServed("That is not a file of this run.")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotServed("That is not a file of this run.")
    return path
