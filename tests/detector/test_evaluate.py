"""Scoring a saved detector: reloading keeps its mAP, the report and pictures, the test split."""

import io
import json

import pytest
from PIL import Image

from detector.data import DetectionData
from detector.evaluate import evaluate_data, evaluate_test_split, ground_truths
from detector.networks import load_model

pytestmark = pytest.mark.slow


def test_ground_truths_are_label_box_and_difficult_per_image(demo_scenes):
    data = DetectionData.load(demo_scenes, "val")
    truths = ground_truths(data, [0])
    [(image_id, objects)] = truths.items()
    assert image_id == data.annotations[0].image_id
    assert [(label, tuple(box)) for label, box, _ in objects] == [
        (o.name, tuple(o.box)) for o in data.annotations[0].objects
    ]


def test_saved_model_evaluates_the_same_after_reloading(trained_detector, demo_scenes, tmp_path):
    data = DetectionData.load(demo_scenes, "val", class_names=trained_detector.class_names)
    evaluation = evaluate_data(load_model(trained_detector.model_path), data, trained_detector.class_names,
                               pr_png=tmp_path / "pr.png", detections_png=tmp_path / "boxes.png", title="val")
    assert evaluation.n_images == 16
    assert evaluation.map50 == pytest.approx(trained_detector.val_map50, abs=1e-6)
    assert set(evaluation.per_class) <= set(trained_detector.class_names)
    assert (tmp_path / "pr.png").read_bytes()[:4] == b"\x89PNG"
    assert Image.open(tmp_path / "boxes.png").size[0] == 4 * 256


def test_the_report_gives_map_per_class_ap_and_the_images(trained_detector, demo_scenes, tmp_path):
    data = DetectionData.load(demo_scenes, "test", class_names=trained_detector.class_names)
    evaluation = evaluate_data(load_model(trained_detector.model_path), data, trained_detector.class_names,
                               pr_png=tmp_path / "pr.png", detections_png=tmp_path / "boxes.png", title="test")
    report = evaluation.as_json(model={"id": 3})
    assert report["n_images"] == 16 and report["split"] == "test" and report["model"] == {"id": 3}
    assert report["map50"] == pytest.approx(sum(report["ap"].values()) / len(report["ap"]), abs=1e-5)
    assert report["n_objects"] == sum(r.n_ground_truth for r in evaluation.per_class.values())
    assert report["iou_threshold"] == 0.5 and report["pr_png"] == str(tmp_path / "pr.png")
    assert len(evaluation.class_lines()) == len(report["ap"])


def test_the_test_split_evaluation_writes_its_report_next_to_its_pictures(trained_detector, demo_scenes, tmp_path):
    evaluation = evaluate_test_split(trained_detector.model_path, demo_scenes, trained_detector.class_names,
                                     tmp_path, "tiny, test split", say=lambda line: None)
    assert {p.name for p in tmp_path.iterdir()} == {"evaluation.json", "pr_test.png", "detections_test.png"}
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["n_images"] == evaluation.n_images == 16
    assert report["map50"] == pytest.approx(evaluation.map50, abs=1e-6)
    assert report["latency_ms"] > 0 and evaluation.report_json == tmp_path / "evaluation.json"


def test_a_folder_without_a_test_split_gives_no_evaluation_and_says_so(trained_detector, tmp_path):
    from detector.demo_data import make_demo_data

    make_demo_data(tmp_path / "scenes", seed=2, images=6, stdout=io.StringIO())
    (tmp_path / "scenes" / "ImageSets" / "Main" / "test.txt").unlink()
    said = []
    assert evaluate_test_split(trained_detector.model_path, tmp_path / "scenes", trained_detector.class_names,
                               tmp_path / "out", "tiny", say=said.append) is None
    assert "No test split" in said[0] and not (tmp_path / "out").exists()
