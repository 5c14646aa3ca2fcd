"""Caltech-101 as a `DatasetSpec` for `python manage.py fetch_dataset caltech101`.

The official archive (caltech-101.zip, CaltechDATA record mzrjq-6wc02) holds
`caltech-101/101_ObjectCategories.tar.gz` (plus annotations). `finish` unpacks that inner tarball
safely and lays out `dest/<class>/*.jpg`, leaving out BACKGROUND_Google (clutter, not a category;
the book and the usual practice drop it), which leaves 101 classes.
"""

import shutil
from pathlib import Path

from deepboot.archives import safe_extract
from deepboot.datasets import DatasetSpec
from deepboot.downloads import DownloadError, file_digest

INNER_TARBALL = "101_ObjectCategories.tar.gz"
# md5 of 101_ObjectCategories.tar.gz as torchvision's datasets/caltech.py publishes it.
INNER_MD5 = "b224c7392d521a49829488ab0f1120d9"
DROPPED = ("BACKGROUND_Google",)


def finish_caltech101(extracted, dest, stdout):
    """Arrange `dest/<class>/*.jpg` from the extracted zip (or an extracted tarball)."""
    extracted, dest = Path(extracted), Path(dest)
    categories = _find_categories(extracted, stdout)
    moved = 0
    classes = 0
    for folder in sorted(p for p in categories.iterdir() if p.is_dir()):
        if folder.name in DROPPED:
            stdout.write(f"  leaving out {folder.name} (background clutter, not a category)\n")
            continue
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg"))
        if not images:
            continue
        target = dest / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for image in images:
            shutil.move(str(image), target / image.name)
        moved += len(images)
        classes += 1
    if not classes:
        raise DownloadError(f"No class folders of JPEG images found in the archive ({categories}).")
    stdout.write(f"  {classes} classes, {moved} images\n")


def _find_categories(extracted, stdout):
    """The 101_ObjectCategories folder, unpacking the inner tarball when that is what we have."""
    tarballs = sorted(extracted.rglob(INNER_TARBALL))
    tarballs = [t for t in tarballs if "__MACOSX" not in t.parts]
    if tarballs:
        tarball = tarballs[0]
        digest = file_digest(tarball, "md5")
        if digest == INNER_MD5:
            stdout.write(f"  {INNER_TARBALL}: md5 matches the published {INNER_MD5}\n")
        else:
            # The outer archive's checksum (official or given with --checksum) was verified already.
            stdout.write(
                f"  note: {INNER_TARBALL} md5 {digest} differs from the official tarball's "
                f"{INNER_MD5} (a mirror or test archive, accepted on its own checksum)\n"
            )
        safe_extract(tarball, extracted / "inner", stdout=stdout)
        extracted = extracted / "inner"
    candidates = [p for p in extracted.rglob("101_ObjectCategories") if p.is_dir() and "__MACOSX" not in p.parts]
    if candidates:
        return candidates[0]
    # A plain <root>/<class>/*.jpg archive: the folder that holds the class folders.
    roots = [extracted] + [p for p in extracted.iterdir() if p.is_dir()]
    for root in roots:
        if any(child.is_dir() and any(child.glob("*.jpg")) for child in root.iterdir()):
            return root
    raise DownloadError("The archive holds neither 101_ObjectCategories nor class folders of JPEG images.")


CALTECH101 = DatasetSpec(
    name="caltech101",
    url="https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
    # sha256 of caltech-101.zip (137,414,764 bytes) as TensorFlow Datasets and others record it.
    checksum="sha256:331234750fc7f77520e50d9565e8b6907b03565e30320da1401130db08c61f91",
    finish="classifier.datasets.finish_caltech101",
    description="Caltech-101: 101 object categories, about 9,100 images, 131 MB",
)
