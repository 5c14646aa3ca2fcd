"""PASCAL VOC layout: read and write annotations, and choose the train/val/test split.

    DIR/JPEGImages/<id>.jpg
    DIR/Annotations/<id>.xml            <annotation><filename/><size><width/><height/><depth/></size>
                                          <object><name/><difficult/><bndbox><xmin/>…</bndbox></object>…
    DIR/ImageSets/Main/{train,val,trainval,test}.txt   (optional: one image id per line)

VOC's bndbox counts pixels from 1 and includes both ends; here boxes are continuous 0-based pixel
coordinates (x_min, y_min, x_max, y_max): xmin - 1, ymin - 1, xmax, ymax. A box covering a whole
W×H image is (0, 0, W, H). `write_annotation` converts back.

Without ImageSets/Main split files, `split_ids` uses a deterministic split: each id goes to train,
val or test by a hash of the id alone (80/10/10), so it is the same on every machine, for every
seed, and when images are added; the rule is recorded with the model (`split_description`).
"""

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)
SPLITS = ("train", "val", "test", "all")
HASH_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


class VocError(ValueError):
    """A data folder or annotation we cannot use; the message says which file and why."""


@dataclass(frozen=True)
class VocObject:
    """One annotated object: `box` is (x_min, y_min, x_max, y_max), continuous 0-based pixels."""

    name: str
    box: tuple[float, float, float, float]
    difficult: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class Annotation:
    image_id: str
    filename: str
    width: int
    height: int
    objects: tuple[VocObject, ...] = field(default_factory=tuple)


def _text(node, path, default=None):
    found = node.find(path)
    if found is None or found.text is None or not found.text.strip():
        return default
    return found.text.strip()


def _number(node, path, where):
    value = _text(node, path)
    if value is None:
        raise VocError(f"{where}: missing <{path}>")
    try:
        return float(value)
    except ValueError:
        raise VocError(f"{where}: <{path}> is not a number: {value!r}") from None


def read_annotation(path):
    """Parse one VOC XML file -> Annotation. Raises VocError naming the file on bad content."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise VocError(f"{path}: not a readable VOC annotation ({exc})") from None
    if root.tag != "annotation":
        raise VocError(f"{path}: the root element is <{root.tag}>, not <annotation>")
    filename = _text(root, "filename", f"{path.stem}.jpg")
    width = int(_number(root, "size/width", path)) if root.find("size/width") is not None else 0
    height = int(_number(root, "size/height", path)) if root.find("size/height") is not None else 0
    objects = []
    for node in root.findall("object"):
        name = _text(node, "name")
        if not name:
            raise VocError(f"{path}: an <object> has no <name>")
        xmin, ymin, xmax, ymax = (_number(node, f"bndbox/{k}", path) for k in ("xmin", "ymin", "xmax", "ymax"))
        if xmax < xmin or ymax < ymin:
            raise VocError(f"{path}: the box of '{name}' is inverted ({xmin}, {ymin}, {xmax}, {ymax})")
        objects.append(
            VocObject(
                name=name,
                box=(xmin - 1.0, ymin - 1.0, xmax, ymax),
                difficult=_text(node, "difficult", "0") == "1",
                truncated=_text(node, "truncated", "0") == "1",
            )
        )
    return Annotation(path.stem, filename, width, height, tuple(objects))


def write_annotation(path, annotation, folder="VOC"):
    """Write an Annotation as VOC XML (1-based, inclusive integer bndbox)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = annotation.filename
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(annotation.width)
    ET.SubElement(size, "height").text = str(annotation.height)
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for obj in annotation.objects:
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = obj.name
        ET.SubElement(node, "pose").text = "Unspecified"
        ET.SubElement(node, "truncated").text = "1" if obj.truncated else "0"
        ET.SubElement(node, "difficult").text = "1" if obj.difficult else "0"
        box = ET.SubElement(node, "bndbox")
        x_min, y_min, x_max, y_max = obj.box
        for key, value in (("xmin", x_min + 1), ("ymin", y_min + 1), ("xmax", x_max), ("ymax", y_max)):
            ET.SubElement(box, key).text = str(int(round(value)))
    ET.indent(root)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=False)


def check_layout(root):
    """Raise VocError unless `root` has JPEGImages/ and Annotations/ with at least one XML."""
    root = Path(root)
    for sub in ("JPEGImages", "Annotations"):
        if not (root / sub).is_dir():
            raise VocError(f"{root} is not in VOC layout: {sub}/ is missing")
    if not any((root / "Annotations").glob("*.xml")):
        raise VocError(f"{root}/Annotations has no .xml files")


def image_path(root, annotation):
    """The image file of an annotation: JPEGImages/<filename>, else JPEGImages/<id>.<jpg|png>."""
    folder = Path(root) / "JPEGImages"
    candidate = folder / Path(annotation.filename).name
    if candidate.exists():
        return candidate
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{annotation.image_id}{suffix}"
        if candidate.exists():
            return candidate
    raise VocError(f"{folder}: no image for annotation '{annotation.image_id}'")


def all_ids(root):
    """Every annotated image id, sorted."""
    return sorted(path.stem for path in (Path(root) / "Annotations").glob("*.xml"))


def _split_file(root, name):
    return Path(root) / "ImageSets" / "Main" / f"{name}.txt"


def _read_ids(path):
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


def hash_split(image_id):
    """train, val or test for an id, by its SHA-1 alone (80/10/10)."""
    fraction = int(hashlib.sha1(image_id.encode()).hexdigest()[:8], 16) / 0x100000000
    if fraction < HASH_FRACTIONS["train"]:
        return "train"
    if fraction < HASH_FRACTIONS["train"] + HASH_FRACTIONS["val"]:
        return "val"
    return "test"


def has_split_files(root):
    return any(_split_file(root, name).exists() for name in ("train", "val", "trainval", "test"))


def split_description(root):
    """How `split_ids` splits this folder, in words (recorded with the model)."""
    if not has_split_files(root):
        return "deterministic: SHA-1 of the image id, 80% train / 10% val / 10% test"
    found = [n for n in ("train", "val", "trainval", "test") if _split_file(root, n).exists()]
    return "ImageSets/Main: " + ", ".join(f"{n}.txt" for n in found)


def split_ids(root, split):
    """The image ids of a split (train, val, test or all), sorted, only ids with an annotation.

    With ImageSets/Main files: train.txt (or trainval.txt minus val.txt), val.txt, test.txt; a
    missing val.txt takes the hash-val tenth of train; a missing test.txt raises VocError. Without
    any of them: the deterministic hash split.
    """
    if split not in SPLITS:
        raise VocError(f"Unknown split '{split}': choose from {', '.join(SPLITS)}")
    annotated = set(all_ids(root))
    if split == "all":
        return sorted(annotated)
    if not has_split_files(root):
        return sorted(i for i in annotated if hash_split(i) == split)
    files = {n: _split_file(root, n) for n in ("train", "val", "trainval", "test")}
    if split == "test":
        if not files["test"].exists():
            raise VocError(f"{root} has no ImageSets/Main/test.txt: use --split all, or add the test set")
        ids = set(_read_ids(files["test"]))
    elif files["val"].exists():
        val = set(_read_ids(files["val"]))
        if split == "val":
            ids = val
        elif files["train"].exists():
            ids = set(_read_ids(files["train"]))
        else:
            ids = set(_read_ids(files["trainval"])) - val if files["trainval"].exists() else set()
    else:
        base = files["train"] if files["train"].exists() else files["trainval"]
        pool = set(_read_ids(base)) if base.exists() else set()
        ids = {i for i in pool if (hash_split(i) == "val") == (split == "val")}
    return sorted(ids & annotated)


def load_annotations(root, ids):
    """Annotations of the given ids, in order; images without a size get it from the file."""
    from PIL import Image

    result = []
    for image_id in ids:
        annotation = read_annotation(Path(root) / "Annotations" / f"{image_id}.xml")
        if annotation.width <= 0 or annotation.height <= 0:
            with Image.open(image_path(root, annotation)) as image:
                width, height = image.size
            annotation = Annotation(annotation.image_id, annotation.filename, width, height, annotation.objects)
        result.append(annotation)
    return result


def class_names(annotations):
    """The class list for a data set: VOC's 20 in VOC order if every name is one of them, else the
    sorted names found."""
    names = {obj.name for a in annotations for obj in a.objects}
    if names and names <= set(VOC_CLASSES):
        return list(VOC_CLASSES)
    return sorted(names)


def write_split(root, split, ids):
    path = _split_file(root, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i}\n" for i in ids))
