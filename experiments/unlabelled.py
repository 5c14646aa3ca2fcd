"""The self-training experiment's data: a share of each class's images set apart without their
labels, so both variants train on the same labelled images and one of them may pseudo-label the
rest. Links (copies where links are not possible) under the experiment's scratch folder; the
data folder itself is never changed."""

import os
import random
import shutil
from pathlib import Path

from .datakind import IMAGE_SUFFIXES


def _place(source, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source, target)
    except OSError:
        shutil.copy2(source, target)


def set_apart(data, scratch, share=0.4, seed=0):
    """(labelled_dir, unlabelled_dir) under `scratch`: each class folder of `data` keeps 1 - share
    of its images (at least two) with their class; the rest go, flattened and renamed, into the
    unlabelled folder. Same seed, same choice."""
    data, scratch = Path(data), Path(scratch)
    labelled, unlabelled = scratch / "labelled", scratch / "unlabelled"
    rng = random.Random(seed)
    count = 0
    for folder in sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        rng.shuffle(images)
        apart = min(int(len(images) * share), max(len(images) - 2, 0))
        for index, image in enumerate(images):
            if index < apart:
                count += 1  # numbered, not named by class: the file name must not carry the label
                _place(image.resolve(), unlabelled / f"{count:06d}{image.suffix.lower()}")
            else:
                _place(image.resolve(), labelled / folder.name / image.name)
    return labelled, unlabelled
