"""The admin (registry/admin.py) as a staff user sees it: branding, the activate action,
metrics in the model list, read-only runs and the audit of activations."""

import pytest

from registry import registry
from registry.models import Activation, TrainedModel, TrainingRun

CHANGELIST = "/admin/deepboot_site/trainedmodel/"


def _register(settings, arch="cnn9", **fields):
    path = settings.MODELS_DIR / f"{arch}.keras"
    path.write_text("x")
    return registry.register("classification", arch, path, **fields)


@pytest.mark.django_db
def test_admin_is_branded_deepboot(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "<title>Models, activations and training runs | DeepBoot admin</title>" in page
    assert "DeepBoot administration" in page


@pytest.mark.django_db
def test_activating_two_models_of_one_slot_keeps_the_newest_and_says_so(admin_client, admin_user, settings):
    older, newer = _register(settings), _register(settings)
    other = _register(settings, arch="vgg16")
    response = admin_client.post(
        CHANGELIST, {"action": "activate_selected", "_selected_action": [older.pk, newer.pk, other.pk]}, follow=True
    )
    page = response.content.decode()
    assert f"Model #{newer.pk} is now the active classification/cnn9 (#{older.pk} of the same slot also selected, not activated" in page
    assert f"Model #{other.pk} is now the active classification/vgg16." in page
    assert sorted(TrainedModel.objects.filter(active=True).values_list("pk", flat=True)) == [newer.pk, other.pk]
    audit = Activation.objects.get(model=newer)
    assert audit.by == admin_user.username and audit.via == "admin" and audit.replaced is None


@pytest.mark.django_db
def test_model_list_shows_key_metrics(admin_client, settings):
    _register(settings, metrics={"test_accuracy": 0.8125, "val_loss": 0.5})
    page = admin_client.get(CHANGELIST).content.decode()
    assert "test_accuracy 0.8125" in page


@pytest.mark.django_db
def test_training_runs_are_read_only(admin_client):
    run = TrainingRun.objects.create(command="train_classifier", resume_key="k", epochs=[{"loss": 1.0}])
    url = f"/admin/deepboot_site/trainingrun/{run.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="_save"' not in page and f'href="/runs/{run.pk}/"' in admin_client.get("/admin/deepboot_site/trainingrun/").content.decode()
    assert admin_client.post(url, {"command": "edited", "epochs": "[]"}).status_code == 403
    assert admin_client.get("/admin/deepboot_site/trainingrun/add/").status_code == 403
    assert admin_client.post(f"/admin/deepboot_site/trainingrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    run.refresh_from_db()
    assert run.command == "train_classifier" and run.epochs == [{"loss": 1.0}]


@pytest.mark.django_db
def test_activations_are_listed_read_only(admin_client, settings):
    first = _register(settings, activate=True)
    page = admin_client.get("/admin/deepboot_site/activation/").content.decode()
    assert str(first) in page
    audit = Activation.objects.get()
    assert admin_client.post(f"/admin/deepboot_site/activation/{audit.pk}/change/", {"by": "x"}).status_code == 403
