"""In Chromium against the real server: upload an image on /classify/ and see every network's
results (top-5 bars, latency, Grad-CAM) and their average; a sample; a bad file's message."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARCHS = ("cnn9", "vgg16", "resnet152")
WAIT_MS = 300_000  # the server loads ResNet152 (230 MB) on the first request


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """{arch: (model path, split path, class names)}: the classifier tests' session models when
    this run made them, else the three networks built (untrained) at 32x32 for 6 classes."""
    from classifier import data, networks
    from classifier.demo_data import CLASSES, make_demo_data

    root = make_demo_data(tmp_path_factory.mktemp("classify-browser") / "data", seed=21, per_class=3)
    dataset = data.scan_folder(root)
    files = {}
    for arch in ARCHS:
        folder = Path(settings.MODELS_DIR) / "classification" / f"session-{arch}"
        model_path = folder / "model.keras"
        if not model_path.exists():
            folder = Path(settings.MODELS_DIR) / "classification" / f"browser-{arch}"
            folder.mkdir(parents=True, exist_ok=True)
            model_path = folder / "model.keras"
            networks.build(arch, (32, 32, 3), len(CLASSES)).save(model_path)
        split_path = data.save_split(data.split_items(dataset.items, 0), folder / "browser-split.json",
                                     {"data": str(root), "classes": dataset.classes})
        files[arch] = (model_path, split_path, dataset.classes)
    return files


@pytest.fixture
def active(model_files):
    from classifier import networks
    from registry import registry

    for arch, (model_path, split_path, classes) in model_files.items():
        registry.register("classification", arch, model_path, activate=True, class_names=classes,
                          input_size=[32, 32], layers=networks.LAYERS[arch],
                          training_run={"split_file": registry.relative_path(split_path)})


def photo():
    image = Image.new("RGB", (160, 120), (60, 60, 70))
    image.paste((230, 40, 40), (50, 30, 110, 90))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def check_results(page):
    results = page.locator("[data-testid=results]")
    for model in (*ARCHS, "average"):
        card = results.locator(f"[data-model={model}]")
        assert card.is_visible()
        assert card.locator("li").count() == 5
        assert card.locator("meter").count() == 5
    for arch in ARCHS:
        card = results.locator(f"[data-model={arch}]")
        assert float(card.locator("[data-latency]").inner_text()) > 0
        assert card.locator("img").get_attribute("src").startswith("data:image/png;base64,")


def test_upload_shows_every_network_side_by_side_then_a_sample_then_a_bad_file(page, asgi_server, active):
    page.goto(asgi_server + "/classify/")
    page.check("[data-gradcam]")  # heat maps only when asked
    page.set_input_files("input[type=file][name=image]", files=[photo()])
    page.locator("[data-testid=results] [data-model=average]").wait_for(timeout=WAIT_MS)
    check_results(page)
    assert page.locator("[data-preview-img]").is_visible()
    screenshot(page, "classify-results")

    samples = page.locator("[data-sample]")
    assert samples.count() == 6
    with page.expect_response(lambda r: r.url.endswith("/api/classify/"), timeout=WAIT_MS) as answer:
        samples.nth(2).click()
    assert answer.value.status == 200
    page.locator("[data-testid=results] [data-model=average]").wait_for(timeout=WAIT_MS)
    check_results(page)

    page.set_input_files("input[type=file][name=image]",
                         files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not an image" * 10}])
    error = page.locator("[data-testid=error]")
    error.wait_for(state="visible", timeout=30_000)
    assert "not an image we can read" in error.inner_text()
    assert page.locator("[data-testid=results]").count() == 0
    screenshot(page, "classify-error")
    assert [e for e in page.console_errors if "400" not in e] == []


@pytest.fixture
def imported(tmp_path):
    """cnn9 and vgg16 (untrained, 32x32, 6 classes) brought in with the real import_model command,
    which records each network's layers as it counts them (vgg16: 14, not the book's 16)."""
    from django.core.management import call_command

    from classifier import networks
    from classifier.demo_data import CLASSES
    from registry.models import TrainedModel

    names = tmp_path / "classes.txt"
    names.write_text("\n".join(CLASSES) + "\n")
    for arch in ("cnn9", "vgg16"):
        path = tmp_path / f"{arch}.keras"
        networks.build(arch, (32, 32, 3), len(CLASSES)).save(path)
        call_command("import_model", str(path), "--task", "classification", "--arch", arch,
                     "--class-names", str(names), "--activate", stdout=io.StringIO())
    return {record.architecture: record for record in TrainedModel.objects.filter(active=True)}


def test_result_cards_name_layers_and_model_ids_as_the_registry_and_models_page_do(page, asgi_server, imported):
    page.goto(asgi_server + "/models/")
    shown = {}
    for arch, record in imported.items():
        card = page.locator(f"li.card.model[data-architecture={arch}]")
        assert card.locator("[data-model-id]").inner_text() == f"#{record.pk}"
        shown[arch] = card.locator("dt:text-is('Layers') + dd").inner_text()
    assert shown == {"cnn9": "9", "vgg16": "14"}
    page.goto(asgi_server + "/classify/")
    page.set_input_files("input[type=file][name=image]", files=[photo()])
    page.locator("[data-testid=results] [data-model=average]").wait_for(timeout=WAIT_MS)
    for arch, record in imported.items():
        card = page.locator(f"[data-testid=results] [data-model={arch}]")
        assert card.locator("h2 small").first.inner_text() == f"{shown[arch]} layers"
        assert card.get_attribute("data-model-id") == str(record.pk)
        assert card.locator(".model-id").inner_text() == f"model #{record.pk}"
    assert page.locator("[data-testid=results] [data-model=resnet152]").count() == 0
    assert page.console_errors == []
