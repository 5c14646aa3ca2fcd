"""In Chromium, at desktop and phone (390 px) widths: an experiment's page (its table rows, the
overlaid curves drawn as inline SVG by static files) and the Models page (formatted metrics,
per-class bars), with no card or page wider than the screen. Screenshots in test-artifacts/."""

import json

import pytest

from experiments.models import ExperimentResult
from registry import registry
from registry.models import TrainingRun
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def curve(start):
    return [{"epoch": e, "accuracy": start + e / 10, "val_accuracy": start + e / 12, "loss": 2 - e / 3,
             "val_loss": 2.1 - e / 4} for e in (1, 2, 3)]


def make_experiment():
    runs = [TrainingRun.objects.create(command="train_classifier", resume_key=f"e{i}", status="finished",
                                       epochs=curve(0.2 + i / 20)) for i in range(4)]
    measurements = [{"variant": v, "seed": s, "value": 0.5 + 0.1 * i + 0.05 * s, "runs": [runs[2 * s + i].pk]}
                    for s in (0, 1) for i, v in enumerate(("without augmentation", "with augmentation"))]
    return ExperimentResult.objects.create(
        name="augmentation", status="finished", seeds=2, quick=True, data="demo-classification",
        measurements=measurements,
        command_line="python manage.py run_experiment augmentation --data var/data/demo-classification --seeds 2 --quick")


def make_models(settings):
    folder = settings.MODELS_DIR / "classification" / "cnn9-demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_text("x")
    classes = ["checker", "circle", "square", "star", "stripes", "a-class-with-a-very-long-name-indeed"]
    (folder / "evaluation.json").write_text(json.dumps(
        {"cnn9": {"per_class": {name: (i + 1) / len(classes) for i, name in enumerate(classes)}}}))
    registry.register("classification", "cnn9", folder / "model.keras", activate=True, layers=9, parameters=1234567,
                      dataset=f"demo-classification ({settings.DATA_DIR / 'a' / 'long' / 'path' / 'demo-classification'})",
                      metrics={"val_accuracy": 0.95, "test_top1": 0.9123, "test_top5": 1.0, "train_seconds": 109.0})
    tiny = settings.MODELS_DIR / "detection" / "tiny.keras"
    tiny.parent.mkdir(parents=True, exist_ok=True)
    tiny.write_text("x")
    registry.register("detection", "tiny", tiny, activate=True, layers=6, parameters=63000, dataset="demo-detection",
                      metrics={"map50": 0.936, "latency_ms": 4.2,
                               "ap": {"circle": 0.97, "cross": 0.88, "square": 0.95, "star": 0.91, "triangle": 0.93}})


def overflowing(page, selector):
    """The elements matching `selector` whose content is wider than they are, and whether the page is."""
    return page.evaluate("""(selector) => ({
        elements: [...document.querySelectorAll(selector)].filter((e) => e.scrollWidth > e.clientWidth + 1)
            .map((e) => e.dataset.architecture || e.dataset.experiment || e.tagName),
        page: document.documentElement.scrollWidth > window.innerWidth + 1,
    })""", selector)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_experiment_page_shows_its_table_and_overlaid_curves(page, asgi_server, width):
    make_experiment()
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    page.goto(f"{asgi_server}/experiments/augmentation/")
    rows = page.locator('tr[data-experiment="augmentation"][data-metric="test_top1"]')
    assert rows.count() == 2
    assert rows.nth(1).get_attribute("data-variant") == "with augmentation"
    assert float(rows.nth(1).get_attribute("data-mean")) == pytest.approx(0.625)
    chart = page.locator('[data-charts] figure[data-metric="accuracy"]')
    chart.wait_for()
    assert chart.locator("svg path.series").count() == 8  # 4 runs x (accuracy, val_accuracy)
    assert "with augmentation (seed 1) val_accuracy" in chart.locator("[data-legend-item]").all_inner_texts()
    assert overflowing(page, ".card, main") == {"elements": [], "page": False}
    screenshot(page, f"experiment-{width}")
    page.goto(f"{asgi_server}/experiments/")
    assert page.locator('[data-experiment="augmentation"][data-experiment-status="finished"]').count() == 1
    assert overflowing(page, ".card") == {"elements": [], "page": False}
    screenshot(page, f"experiments-{width}")
    assert page.console_errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_models_page_cards_are_readable_and_fit_the_screen(page, asgi_server, settings, width):
    make_models(settings)
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    page.goto(f"{asgi_server}/models/")
    cnn9 = page.locator('li.card.model[data-architecture="cnn9"]')
    assert cnn9.locator('[data-metric="test_top1"]').inner_text() == "91.2%"
    assert cnn9.locator('[data-metric="train_seconds"]').inner_text() == "1m 49s"
    assert cnn9.locator("[data-dataset]").inner_text() == "demo-classification (demo-classification)"
    assert cnn9.locator("[data-per-class] li").first.get_attribute("data-class") == "a-class-with-a-very-long-name-indeed"
    tiny = page.locator('li.card.model[data-architecture="tiny"]')
    assert tiny.locator('[data-metric="map50"]').inner_text() == "93.6%"
    assert [tiny.locator("[data-per-class] li").nth(i).get_attribute("data-class") for i in range(5)] == [
        "circle", "square", "triangle", "star", "cross"]
    assert overflowing(page, "li.card.model") == {"elements": [], "page": False}
    screenshot(page, f"models-{width}")
    assert page.console_errors == []
