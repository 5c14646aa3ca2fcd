"""The home page, the Models page, the admin and the error pages."""

import json

import pytest
from django.urls import reverse

from registry import registry


@pytest.mark.django_db
def test_home_links_to_the_three_demos_and_models(client):
    html = client.get("/").content.decode()
    for name in ("classify", "detect", "tictactoe", "models"):
        assert f'href="{reverse(name)}"' in html


@pytest.mark.django_db
def test_models_page_empty_state_names_the_command_for_each_slot(client):
    html = client.get("/models/").content.decode()
    for slot in registry.all_slots():
        assert f'data-architecture="{slot.architecture}"' in html
        assert slot.command.split("(")[0].strip() in html
    assert "No active model yet" in html


@pytest.mark.django_db
def test_models_page_shows_a_card_per_active_model(client, settings):
    path = settings.MODELS_DIR / "cnn9.keras"
    path.write_text("x")
    registry.register(
        "classification", "cnn9", path, activate=True, layers=9, parameters=1234567,
        dataset="demo-classification", metrics={"top1": 0.912345},
    )
    html = client.get("/models/").content.decode()
    card = html.split('data-architecture="cnn9"')[1].split("</li>")[0]
    assert "1,234,567" in card and "demo-classification" in card and "0.9123" in card
    assert "No active model yet" not in card


@pytest.mark.django_db
def test_models_page_card_shows_the_model_id_and_for_staff_links_its_run(client, admin_client, settings):
    from registry.models import TrainingRun

    path = settings.MODELS_DIR / "cnn9.keras"
    path.write_text("x")
    record = registry.register("classification", "cnn9", path, activate=True, layers=9)
    run = TrainingRun.objects.create(command="train_classifier", resume_key="k", model=record)
    staff = admin_client.get("/models/").content.decode().split(f'class="card model" data-task="classification" data-architecture="cnn9" data-model-id="{record.pk}"')[1].split("</li>")[0]
    assert f"<dd data-model-id>#{record.pk}</dd>" in staff
    assert f'<a href="/runs/{run.pk}/" data-run-link>run #{run.pk}</a>' in staff
    assert admin_client.get(f"/runs/{run.pk}/").status_code == 200
    visitor = client.get("/models/").content.decode().split(f'class="card model" data-task="classification" data-architecture="cnn9" data-model-id="{record.pk}"')[1].split("</li>")[0]
    assert f"<dd data-model-id>#{record.pk}</dd>" in visitor and "data-run-link" not in visitor


@pytest.mark.django_db
def test_unknown_page_is_our_own_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_admin_asks_for_login(client):
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert "Log in" in response.content.decode()


@pytest.mark.django_db
def test_models_page_names_data_sets_and_models_without_server_paths(client, settings):
    path = settings.MODELS_DIR / "cnn9.keras"
    path.write_text("x")
    record = registry.register(
        "classification", "cnn9", path, activate=True, layers=9,
        dataset=f"demo ({settings.DATA_DIR / 'demo'})",
    )
    evaluation = settings.MODELS_DIR / "classification" / "evaluation-latest.json"
    evaluation.parent.mkdir(parents=True, exist_ok=True)
    evaluation.write_text(json.dumps({
        "cnn9": {"layers": 9, "top1": 0.5, "top5": 0.9}, "n_images": 10, "split": "test",
        "data": str(settings.DATA_DIR / "caltech101"),
    }))
    try:
        html = client.get("/models/").content.decode()
    finally:
        evaluation.unlink()
    card = html.split('data-architecture="cnn9"')[1].split("</li>")[0]
    assert f'data-model-id="{record.pk}"' in card and f"#{record.pk}" in card
    assert "demo (demo)" in card and "caltech101" in html
    assert str(settings.VAR_DIR) not in html and str(settings.BASE_DIR) not in html


@pytest.mark.parametrize(
    "text, shown",
    [
        ("demo (/srv/deepboot/var/data/demo)", "demo (demo)"),
        ("/home/me/data/caltech101/", "caltech101"),
        ("voc (C:\\data\\voc, 20 train / 5 val)", "voc (voc, 20 train / 5 val)"),
        ("tictactoe self-play", "tictactoe self-play"),
        ("2/3 of demo", "2/3 of demo"),
    ],
)
def test_without_paths_keeps_only_the_last_name_of_absolute_paths(text, shown):
    from deepboot_site.templatetags.deepboot import without_paths

    assert without_paths(text) == shown


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/models/", "/classify/", "/detect/"])
def test_a_slot_whose_demo_model_trains_links_to_its_live_run(client, url):
    from tests.registry.test_runs import make_demo_run

    task = "detection" if url == "/detect/" else "classification"
    run = make_demo_run(task=task, architecture="tiny" if task == "detection" else "vgg16")
    page = client.get(url).content.decode()
    assert "data-slot-training" in page and f'href="/runs/{run.pk}/"' in page
    assert client.get(f"/runs/{run.pk}/").status_code == 200
