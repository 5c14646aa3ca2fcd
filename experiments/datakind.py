"""Is the data folder of the kind the experiment trains on? Checked before any run starts, so a
VOC folder given to a classifier experiment (or class folders to the detector's) gets one
sentence naming what is expected instead of a failure deep inside training."""

from pathlib import Path

from .catalogue import CLASSIFICATION, DETECTION

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
CLASSIFICATION_EXPECTED = (
    "a classification folder DIR/<class>/<image> with at least two class folders "
    "(python manage.py make_demo_data classification, or fetch_dataset caltech101)"
)
DETECTION_EXPECTED = (
    "a VOC detection folder with JPEGImages/ and Annotations/ "
    "(python manage.py make_demo_data detection, or fetch_dataset voc2007)"
)


class DataKindError(ValueError):
    pass


def _is_voc(folder):
    return (folder / "JPEGImages").is_dir() or (folder / "Annotations").is_dir()


def _has_images(folder):
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.rglob("*") if p.is_file())


def check(kind, experiment_name, data):
    """Raise DataKindError unless `data` is a folder of `kind`; returns it resolved."""
    if data is None:
        expected = DETECTION_EXPECTED if kind == DETECTION else CLASSIFICATION_EXPECTED
        raise DataKindError(f"{experiment_name} needs --data DIR: {expected}.")
    folder = Path(data).expanduser().resolve()
    if not folder.is_dir():
        raise DataKindError(f"No data folder at {folder}.")
    if kind == CLASSIFICATION:
        if _is_voc(folder):
            raise DataKindError(f"{experiment_name} trains a classifier and expects {CLASSIFICATION_EXPECTED}; "
                                f"{folder.name} is a VOC detection folder.")
        classes = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and _has_images(p)]
        if len(classes) < 2:
            raise DataKindError(f"{experiment_name} expects {CLASSIFICATION_EXPECTED}; {folder.name} has "
                                f"{len(classes)} folder(s) of images.")
    elif kind == DETECTION:
        if not ((folder / "JPEGImages").is_dir() and (folder / "Annotations").is_dir()):
            raise DataKindError(f"{experiment_name} trains a detector and expects {DETECTION_EXPECTED}; "
                                f"{folder.name} has no JPEGImages/ and Annotations/.")
    return folder
