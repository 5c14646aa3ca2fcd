"""evaluate_classifier and classifier/evaluate.py: the JSON, the pictures, the Models page chart."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from classifier import evaluate
from tests.classifier.conftest import png_is_valid


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_confusion_matrix_and_per_class_accuracy():
    probabilities = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    labels = [0, 1, 1, 2]
    assert evaluate.confusion_matrix(probabilities, labels, 3).tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert evaluate.per_class_accuracy(probabilities, labels, ["a", "b", "c"]) == {"a": 1.0, "b": 0.5, "c": 1.0}


@pytest.mark.django_db
def test_evaluate_writes_the_json_and_valid_pictures_for_each_active_network_and_the_average(
        two_models, demo_data, tmp_path):
    output = run("evaluate_classifier", "--data", str(demo_data), "--json", str(tmp_path / "e.json"))
    result = json.loads((tmp_path / "e.json").read_text())
    assert {"cnn9", "vgg16", "average", "n_images"} <= set(result) and "resnet152" not in result
    assert result["n_images"] == 6 and result["split"] == "test"
    for name in ("cnn9", "vgg16", "average"):
        assert set(result[name]) >= {"top1", "top5", "per_class"}
        assert 0 <= result[name]["top1"] <= result[name]["top5"] <= 1
        assert png_is_valid(result[name]["confusion_png"])
    assert result["average"]["members"] == ["cnn9", "vgg16"]
    assert png_is_valid(result["chart_png"])
    assert "average" in output and "top-1" in output


@pytest.mark.django_db
def test_the_average_is_the_mean_of_the_softmax_outputs(two_models, demo_data):
    from classifier import data, service
    from classifier.evaluate import predict_items, topk_accuracy

    run("evaluate_classifier", "--data", str(demo_data), "--split", "all", "--json", str(demo_data.parent / "all.json"))
    result = json.loads((demo_data.parent / "all.json").read_text())
    assert result["n_images"] == 36
    loaded, _ = service.active_models()
    dataset = data.scan_folder(demo_data)
    outputs = [predict_items(entry.model, demo_data, dataset.items, 32) for _, entry in loaded]
    labels = [item.label for item in dataset.items]
    assert result["average"]["top1"] == pytest.approx(topk_accuracy(np.mean(outputs, axis=0), labels, 1))


@pytest.mark.django_db
def test_models_page_shows_the_latest_evaluation_chart(two_models, demo_data, client):
    empty = client.get("/models/").content.decode()
    assert "No evaluation yet" in empty or 'data-testid="classification-chart"' in empty
    run("evaluate_classifier", "--data", str(demo_data))
    page = client.get("/models/").content.decode()
    assert 'data-testid="classification-chart"' in page
    assert 'data-network="cnn9"' in page and 'data-network="average"' in page and "test split" in page
    chart = client.get("/classify/evaluation.png")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/png"
    assert png_is_valid(b"".join(chart.streaming_content))


@pytest.mark.django_db
def test_models_page_chart_names_the_models_it_measured_and_warns_when_they_change(two_models, demo_data, client):
    from registry import registry

    cnn9, vgg16 = two_models["cnn9"], two_models["vgg16"]
    run("evaluate_classifier", "--data", str(demo_data))
    page = client.get("/models/").content.decode()
    assert f"<span data-evaluated-models>#{cnn9.pk} (cnn9), #{vgg16.pk} (vgg16)</span>" in page
    assert f'data-network="cnn9" data-model-id="{cnn9.pk}"' in page
    assert 'data-testid="evaluation-stale"' not in page
    newer = registry.register("classification", "cnn9", registry.absolute_path(cnn9.path), activate=True,
                              class_names=cnn9.class_names, layers=cnn9.layers)
    registry.deactivate("classification", "vgg16")
    page = client.get("/models/").content.decode()
    warning = page.split('data-testid="evaluation-stale"')[1].split("</div>")[0]
    assert f"cnn9: model #{cnn9.pk} was evaluated; model #{newer.pk} is active now" in warning
    assert f"vgg16: model #{vgg16.pk} was evaluated; no vgg16 model is active now" in warning


@pytest.mark.django_db
def test_evaluate_without_active_models_names_the_command(demo_data):
    with pytest.raises(CommandError, match="python manage.py bootstrap"):
        run("evaluate_classifier", "--data", str(demo_data))


@pytest.mark.django_db
def test_evaluate_test_split_of_a_different_folder_says_to_use_split_all(two_models, tmp_path):
    from classifier.demo_data import make_demo_data

    other = make_demo_data(tmp_path / "other", seed=5, per_class=2)
    for path in other.rglob("*.jpg"):
        path.rename(path.with_name("x" + path.name))
    with pytest.raises(CommandError, match="--split all"):
        run("evaluate_classifier", "--data", str(other))
    run("evaluate_classifier", "--data", str(other), "--split", "all", "--json", str(tmp_path / "o.json"))
    assert json.loads((tmp_path / "o.json").read_text())["n_images"] == 12
