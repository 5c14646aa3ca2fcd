"""bootstrap, list_models and activate_model from the shell."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from deepboot_site import registry


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_bootstrap_migrates_says_what_it_did_and_can_run_again(monkeypatch):
    # The demo-model steps are covered by each app's tests; here only the command itself runs.
    from django.apps import apps

    for config in apps.get_app_configs():
        monkeypatch.setattr(config, "bootstrap_demo", None, raising=False)
    first = run("bootstrap")
    assert "Migrating the database" in first and "Bootstrap finished in" in first
    assert "Bootstrap finished in" in run("bootstrap")


@pytest.mark.django_db
def test_list_models_with_none_says_how_to_make_them():
    assert "python manage.py bootstrap" in run("list_models")


@pytest.mark.django_db
def test_list_and_activate_models(settings):
    path = settings.MODELS_DIR / "m.keras"
    path.write_text("x")
    old = registry.register("tictactoe", "dqn", path, activate=True, metrics={"win_rate_x": 0.99})
    new = registry.register("tictactoe", "dqn", path)
    listing = run("list_models")
    assert f"{old.pk:>4}  yes" in listing and "win_rate_x=0.9900" in listing
    assert "Model %d is now the active tictactoe/dqn" % new.pk in run("activate_model", str(new.pk))
    assert [r.pk for r in registry.active_records("tictactoe")] == [new.pk]


@pytest.mark.django_db
def test_activate_unknown_model_is_a_clear_error():
    with pytest.raises(CommandError, match="No model with ID 999"):
        run("activate_model", "999")
