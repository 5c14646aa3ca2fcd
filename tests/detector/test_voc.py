"""The VOC reader and writer, and the split rules."""

import pytest

from detector import voc

XML = """<annotation>
  <folder>VOC2007</folder><filename>000005.jpg</filename>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <object><name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox></object>
  <object><name>chair</name><truncated>1</truncated><difficult>1</difficult>
    <bndbox><xmin>5</xmin><ymin>244</ymin><xmax>67</xmax><ymax>374</ymax></bndbox></object>
</annotation>"""


def test_reads_a_voc_annotation_with_zero_based_continuous_boxes(tmp_path):
    path = tmp_path / "000005.xml"
    path.write_text(XML)
    annotation = voc.read_annotation(path)
    assert (annotation.image_id, annotation.filename, annotation.width, annotation.height) == (
        "000005", "000005.jpg", 500, 375,
    )
    assert [o.name for o in annotation.objects] == ["chair", "chair"]
    assert annotation.objects[0].box == (262.0, 210.0, 324.0, 339.0)
    assert annotation.objects[0].difficult is False
    assert annotation.objects[1].difficult is True and annotation.objects[1].truncated is True


def test_write_then_read_round_trips(tmp_path):
    original = voc.Annotation(
        "x1", "x1.jpg", 64, 48,
        (voc.VocObject("circle", (0.0, 0.0, 64.0, 48.0)), voc.VocObject("star", (10.0, 5.0, 20.0, 30.0), True)),
    )
    voc.write_annotation(tmp_path / "x1.xml", original)
    assert voc.read_annotation(tmp_path / "x1.xml") == original
    assert "<xmin>1</xmin>" in (tmp_path / "x1.xml").read_text()  # VOC counts from 1


@pytest.mark.parametrize(
    "xml, message",
    [
        ("<annotation><object><name>cat</name></object></annotation>", "bndbox/xmin"),
        ("<annotation><object><name>cat</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>2</xmax>"
         "<ymax>2</ymax></bndbox></object></annotation>", "not a number"),
        ("<annotation><object><bndbox/></object></annotation>", "no <name>"),
        ("<annotation><object><name>cat</name><bndbox><xmin>9</xmin><ymin>1</ymin><xmax>2</xmax>"
         "<ymax>2</ymax></bndbox></object></annotation>", "inverted"),
        ("<notvoc/>", "root element"),
        ("<annotation>", "not a readable"),
    ],
)
def test_bad_annotations_raise_errors_naming_the_file(tmp_path, xml, message):
    path = tmp_path / "bad.xml"
    path.write_text(xml)
    with pytest.raises(voc.VocError, match=message) as info:
        voc.read_annotation(path)
    assert "bad.xml" in str(info.value)


def make_folder(root, ids):
    (root / "JPEGImages").mkdir(parents=True)
    for image_id in ids:
        voc.write_annotation(
            root / "Annotations" / f"{image_id}.xml",
            voc.Annotation(image_id, f"{image_id}.jpg", 10, 10, (voc.VocObject("cat", (1, 1, 5, 5)),)),
        )
    return root


def test_split_files_are_used_when_present(tmp_path):
    root = make_folder(tmp_path, [f"{i:03d}" for i in range(10)])
    voc.write_split(root, "train", ["000", "001", "002"])
    voc.write_split(root, "val", ["003", "004"])
    voc.write_split(root, "test", ["005", "999"])  # 999 has no annotation: left out
    assert voc.split_ids(root, "train") == ["000", "001", "002"]
    assert voc.split_ids(root, "val") == ["003", "004"]
    assert voc.split_ids(root, "test") == ["005"]
    assert len(voc.split_ids(root, "all")) == 10
    assert "ImageSets/Main" in voc.split_description(root)


def test_trainval_without_train_file_means_trainval_minus_val(tmp_path):
    root = make_folder(tmp_path, ["a", "b", "c"])
    voc.write_split(root, "trainval", ["a", "b", "c"])
    voc.write_split(root, "val", ["b"])
    assert voc.split_ids(root, "train") == ["a", "c"]


def test_missing_test_file_is_an_error_when_other_split_files_exist(tmp_path):
    root = make_folder(tmp_path, ["a", "b"])
    voc.write_split(root, "trainval", ["a", "b"])
    with pytest.raises(voc.VocError, match="test.txt"):
        voc.split_ids(root, "test")
    # without val.txt, val is the hash-val part of trainval, and train the rest
    train, val = voc.split_ids(root, "train"), voc.split_ids(root, "val")
    assert sorted(train + val) == ["a", "b"] and not set(train) & set(val)


def test_without_split_files_the_split_is_a_deterministic_partition(tmp_path):
    ids = [f"img{i:04d}" for i in range(400)]
    root = make_folder(tmp_path, ids)
    parts = {split: voc.split_ids(root, split) for split in ("train", "val", "test")}
    assert sorted(sum(parts.values(), [])) == ids
    assert 0.7 < len(parts["train"]) / 400 < 0.9 and parts["val"] and parts["test"]
    assert all(voc.hash_split(i) == split for split, part in parts.items() for i in part)
    assert voc.hash_split("img0007") == voc.hash_split("img0007")
    assert voc.split_description(root).startswith("deterministic")


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(voc.VocError, match="Unknown split"):
        voc.split_ids(make_folder(tmp_path, ["a"]), "holdout")


def test_layout_check_names_what_is_missing(tmp_path):
    with pytest.raises(voc.VocError, match="JPEGImages"):
        voc.check_layout(tmp_path)


def test_class_names_use_voc_order_for_voc_names_and_sorted_names_otherwise():
    def ann(*names):
        return voc.Annotation("x", "x.jpg", 1, 1, tuple(voc.VocObject(n, (0, 0, 1, 1)) for n in names))

    assert voc.class_names([ann("dog", "cat")]) == list(voc.VOC_CLASSES)
    assert voc.class_names([ann("star", "circle"), ann("circle")]) == ["circle", "star"]


def test_load_annotations_reads_the_size_from_the_image_when_missing(tmp_path):
    from PIL import Image

    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    Image.new("RGB", (33, 21)).save(tmp_path / "JPEGImages" / "q.jpg")
    (tmp_path / "Annotations" / "q.xml").write_text(
        "<annotation><filename>q.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
        "<xmax>3</xmax><ymax>3</ymax></bndbox></object></annotation>"
    )
    [annotation] = voc.load_annotations(tmp_path, ["q"])
    assert (annotation.width, annotation.height) == (33, 21)
