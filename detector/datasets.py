"""PASCAL VOC 2007 as `DatasetSpec`s for `python manage.py fetch_dataset`.

    python manage.py fetch_dataset voc2007        # trainval: 5,011 images -> var/data/voc2007
    python manage.py fetch_dataset voc2007test    # test: 4,952 images -> var/data/voc2007test

Each archive unpacks to VOCdevkit/VOC2007/{JPEGImages, Annotations, ImageSets, …}; `finish_voc`
moves JPEGImages/, Annotations/ and ImageSets/Main/ (the per-split id lists) into the destination,
which is then a VOC folder `train_detector` and `evaluate_detector` read directly. Segmentation
and layout files are left out.
"""

import shutil
from pathlib import Path

from deepboot.datasets import DatasetSpec
from deepboot.downloads import DownloadError

KEPT_SPLIT_FILES = ("train.txt", "val.txt", "trainval.txt", "test.txt")


def find_voc_root(extracted):
    """The folder of the extracted tree holding Annotations/ and JPEGImages/ (VOCdevkit/VOC2007)."""
    extracted = Path(extracted)
    preferred = extracted / "VOCdevkit" / "VOC2007"
    candidates = [preferred] if preferred.is_dir() else []
    candidates += sorted(p.parent for p in extracted.rglob("Annotations") if p.is_dir())
    for candidate in candidates:
        if (candidate / "Annotations").is_dir() and (candidate / "JPEGImages").is_dir():
            return candidate
    raise DownloadError("The archive holds no VOC folder (VOCdevkit/VOC2007 with Annotations/ and JPEGImages/).")


def finish_voc(extracted, dest, stdout):
    """Arrange dest/{JPEGImages, Annotations, ImageSets/Main} from an extracted VOC archive."""
    root = find_voc_root(extracted)
    dest = Path(dest)
    for name in ("JPEGImages", "Annotations"):
        shutil.move(str(root / name), dest / name)
    main = root / "ImageSets" / "Main"
    kept = []
    if main.is_dir():
        (dest / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        for name in KEPT_SPLIT_FILES:
            if (main / name).is_file():
                shutil.move(str(main / name), dest / "ImageSets" / "Main" / name)
                kept.append(name)
    images = sum(1 for _ in (dest / "JPEGImages").iterdir())
    annotations = sum(1 for _ in (dest / "Annotations").glob("*.xml"))
    stdout.write(
        f"  {images} images, {annotations} annotations; split files: {', '.join(kept) or 'none'}\n"
    )


VOC2007 = DatasetSpec(
    name="voc2007",
    url="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",
    checksum="md5:c52e279531787c972589f7e41ab4ae64",
    finish="detector.datasets.finish_voc",
    description="PASCAL VOC 2007 trainval: 5,011 images, 20 classes, 439 MB",
)

VOC2007_TEST = DatasetSpec(
    name="voc2007test",
    url="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar",
    checksum="md5:b6e924de25625d8de591ea690078ad9f",
    finish="detector.datasets.finish_voc",
    description="PASCAL VOC 2007 test: 4,952 images, 20 classes, 431 MB",
)
