"""evaluate_detector, make_demo_data detection, fetch_dataset voc2007, and bootstrap's demo detector."""

import hashlib
import http.server
import io
import json
import tarfile
import threading
from functools import partial

import pytest
from django.core.management import call_command
from PIL import Image
from django.core.management.base import CommandError


@pytest.mark.django_db
def test_evaluate_detector_writes_the_documented_json(active_detector, demo_scenes, tmp_path):
    out = io.StringIO()
    call_command("evaluate_detector", "--data", str(demo_scenes), "--split", "test",
                 "--json", str(tmp_path / "eval.json"), stdout=out)
    report = json.loads((tmp_path / "eval.json").read_text())
    assert {"map50", "ap", "n_images"} <= set(report)
    assert report["n_images"] == 16
    assert 0 <= report["map50"] <= 1 and set(report["ap"]) <= set(active_detector.class_names)
    assert report["map50"] == pytest.approx(sum(report["ap"].values()) / len(report["ap"]), abs=1e-5)
    assert (tmp_path / "eval.pr.png").read_bytes()[:4] == b"\x89PNG"
    assert Image.open(report["detections_png"]).size[0] == 4 * 256  # the first test scenes, boxes drawn
    assert "mAP@0.5" in out.getvalue()


@pytest.mark.django_db
def test_evaluate_detector_on_all_images(active_detector, demo_scenes, tmp_path):
    call_command("evaluate_detector", "--data", str(demo_scenes), "--split", "all",
                 "--json", str(tmp_path / "all.json"), stdout=io.StringIO())
    assert json.loads((tmp_path / "all.json").read_text())["n_images"] == 160


@pytest.mark.django_db
def test_evaluate_detector_without_a_model_names_the_command(demo_scenes):
    with pytest.raises(CommandError, match="bootstrap"):
        call_command("evaluate_detector", "--data", str(demo_scenes), stdout=io.StringIO())


@pytest.mark.django_db
def test_evaluate_detector_without_a_test_split(active_detector, tmp_path):
    from detector import voc
    from detector.demo_data import make_demo_data

    make_demo_data(tmp_path, seed=2, images=6, stdout=io.StringIO())
    (tmp_path / "ImageSets" / "Main" / "test.txt").unlink()
    with pytest.raises(CommandError, match="test.txt"):
        call_command("evaluate_detector", "--data", str(tmp_path), stdout=io.StringIO())
    assert len(voc.split_ids(tmp_path, "all")) == 6


def test_make_demo_data_detection_writes_voc_layout(tmp_path):
    from detector import voc

    dest = tmp_path / "demo"
    call_command("make_demo_data", "detection", "--dest", str(dest), "--images", "12", "--seed", "4",
                 stdout=io.StringIO())
    ids = voc.all_ids(dest)
    assert len(ids) == 12 and len(list((dest / "JPEGImages").glob("*.jpg"))) == 12
    splits = {s: voc.split_ids(dest, s) for s in ("train", "val", "test")}
    assert sorted(sum(splits.values(), [])) == ids
    annotations = voc.load_annotations(dest, ids)
    assert all(2 <= len(a.objects) <= 5 for a in annotations)
    names = {o.name for a in annotations for o in a.objects}
    assert len(names) >= 3
    for annotation in annotations:
        for obj in annotation.objects:
            x0, y0, x1, y1 = obj.box
            assert 0 <= x0 < x1 <= annotation.width and 0 <= y0 < y1 <= annotation.height
    # Same seed, same scenes.
    again = tmp_path / "again"
    call_command("make_demo_data", "detection", "--dest", str(again), "--images", "12", "--seed", "4",
                 stdout=io.StringIO())
    assert (again / "Annotations" / f"{ids[3]}.xml").read_bytes() == (dest / "Annotations" / f"{ids[3]}.xml").read_bytes()


def test_demo_objects_are_where_their_boxes_say(tmp_path):
    """Each annotated box frames saturated pixels of its shape; outside the boxes the background is muted."""
    import numpy as np
    from PIL import Image

    from detector import voc
    from detector.demo_data import make_demo_data

    make_demo_data(tmp_path, seed=5, images=5, stdout=io.StringIO())
    for annotation in voc.load_annotations(tmp_path, voc.all_ids(tmp_path)):
        pixels = np.asarray(Image.open(voc.image_path(tmp_path, annotation)).convert("RGB"), float) / 255
        saturation = pixels.max(-1) - pixels.min(-1)
        outside = np.ones(saturation.shape, bool)
        for obj in annotation.objects:
            x0, y0, x1, y1 = (int(round(v)) for v in obj.box)
            inside = saturation[y0:y1, x0:x1]
            assert (inside > 0.3).mean() > 0.25, obj
            outside[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2] = False
        assert (saturation[outside] > 0.45).mean() < 0.01


def make_voc_tar(tmp_path):
    """A tiny VOCdevkit/VOC2007 tarball: 3 images, their annotations and split files."""
    from PIL import Image

    from detector import voc

    root = tmp_path / "build" / "VOCdevkit" / "VOC2007"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    ids = ["000001", "000002", "000003"]
    for image_id in ids:
        Image.new("RGB", (50, 40), (90, 120, 30)).save(root / "JPEGImages" / f"{image_id}.jpg")
        voc.write_annotation(root / "Annotations" / f"{image_id}.xml", voc.Annotation(
            image_id, f"{image_id}.jpg", 50, 40, (voc.VocObject("dog", (4.0, 5.0, 30.0, 35.0)),)))
    voc.write_split(root, "train", ids[:2])
    voc.write_split(root, "val", ids[2:])
    voc.write_split(root, "trainval", ids)
    (root / "ImageSets" / "Main" / "dog_train.txt").write_text("000001  1\n")
    archive = tmp_path / "serve" / "VOCtrainval_06-Nov-2007.tar"
    archive.parent.mkdir(exist_ok=True)
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "build" / "VOCdevkit", arcname="VOCdevkit")
    return archive


@pytest.fixture
def local_http(tmp_path):
    """Serve tmp_path/serve over http://127.0.0.1:<port>/."""
    (tmp_path / "serve").mkdir(exist_ok=True)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "serve"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_dataset_voc2007_over_http_lays_out_the_voc_folder(tmp_path, local_http):
    from detector import voc

    archive = make_voc_tar(tmp_path)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    dest = tmp_path / "voc2007"
    out = io.StringIO()
    call_command("fetch_dataset", "voc2007", "--dest", str(dest), "--archive", f"{local_http}/{archive.name}",
                 "--checksum", f"md5:{md5}", "--downloads", str(tmp_path / "downloads"), stdout=out)
    assert sorted(p.name for p in dest.iterdir()) == ["Annotations", "ImageSets", "JPEGImages"]
    assert sorted(p.name for p in (dest / "ImageSets" / "Main").iterdir()) == ["train.txt", "trainval.txt", "val.txt"]
    assert voc.split_ids(dest, "train") == ["000001", "000002"]
    assert voc.load_annotations(dest, ["000003"])[0].objects[0].name == "dog"
    assert "3 images, 3 annotations" in out.getvalue()


def test_fetch_dataset_voc2007_refuses_a_wrong_checksum(tmp_path, local_http):
    archive = make_voc_tar(tmp_path)
    with pytest.raises(CommandError, match="Checksum mismatch"):
        call_command("fetch_dataset", "voc2007", "--dest", str(tmp_path / "voc"), "--archive",
                     f"{local_http}/{archive.name}", "--checksum", "md5:" + "0" * 32,
                     "--downloads", str(tmp_path / "downloads"), stdout=io.StringIO())
    assert not (tmp_path / "voc").exists()


def test_fetch_dataset_refuses_an_archive_without_a_voc_folder(tmp_path):
    archive = tmp_path / "other.tar"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "readme.txt").write_text("hello")
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp_path / "junk", arcname="junk")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    with pytest.raises(CommandError, match="no VOC folder"):
        call_command("fetch_dataset", "voc2007", "--dest", str(tmp_path / "voc"), "--archive", str(archive),
                     "--checksum", f"md5:{md5}", stdout=io.StringIO())


def test_voc_specs_point_at_the_official_archives():
    from detector.datasets import VOC2007, VOC2007_TEST

    assert VOC2007.url.endswith("VOCtrainval_06-Nov-2007.tar")
    assert VOC2007.checksum == "md5:c52e279531787c972589f7e41ab4ae64"
    assert VOC2007_TEST.checksum == "md5:b6e924de25625d8de591ea690078ad9f"


@pytest.mark.django_db
@pytest.mark.slow
def test_bootstrap_demo_trains_activates_and_then_does_nothing(settings, tmp_path):
    from registry import registry
    from detector.bootstrap import make_demo_detector

    settings.DATA_DIR = tmp_path / "data"
    out = io.StringIO()
    make_demo_detector(out, None, images=20,
                       training={"epochs": 1, "batch_size": 8, "image_size": 64})
    record = registry.active_record("detection", "tiny")
    assert record is not None and "n_test_images" in record.metrics
    assert (tmp_path / "data" / "demo-detection" / "ImageSets" / "Main" / "test.txt").is_file()
    again = io.StringIO()
    make_demo_detector(again, None)
    assert "nothing to do" in again.getvalue()
    assert registry.active_record("detection", "tiny").pk == record.pk


def train_detector_parser():
    from detector.management.commands.train_detector import Command

    return Command().create_parser("manage.py", "train_detector")


def test_train_detector_flags_come_from_the_config_with_the_documented_defaults():
    from deepboot import cli
    from detector.train import TrainConfig

    parser = train_detector_parser()
    given = vars(parser.parse_args(["--data", "d"]))
    assert cli.config_from_options(TrainConfig, {**given, "data": "d"}) == TrainConfig(data="d")
    help_text = " ".join(parser.format_help().split())
    for flag in ("--variant", "--epochs", "--patience", "--batch-size", "--image-size", "--grid", "--lr", "--seed",
                 "--no-augment", "--activate", "--distribute", "--mixed-precision", "--jit", "--note", "--demo"):
        assert flag in help_text
    assert "(default 150)" in help_text and "(default 20)" in help_text and "(default tiny)" in help_text


def test_train_detector_flags_set_the_config_fields():
    from deepboot import cli
    from detector.train import TrainConfig

    options = vars(train_detector_parser().parse_args(
        ["--data", "d", "--variant", "yolo26", "--no-augment", "--patience", "0", "--image-size", "128",
         "--grid", "2", "--lr", "5e-4", "--batch-size", "8"]))
    config = cli.config_from_options(TrainConfig, {**options, "data": "d"})
    assert config == TrainConfig(data="d", variant="yolo26", augment=False, patience=0, image_size=128, grid=2,
                                 lr=5e-4, batch_size=8)
    with pytest.raises(CommandError, match="invalid choice"):
        train_detector_parser().parse_args(["--data", "d", "--variant", "yolo3"])
