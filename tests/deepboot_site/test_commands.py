"""bootstrap, list_models and activate_model from the shell."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from registry import registry


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


CALLS = []


def record_demo(**options):
    CALLS.append(options)


@pytest.mark.django_db
def test_bootstrap_passes_its_weights_flag_to_each_demo_and_every_demo_takes_it(monkeypatch):
    import inspect

    from django.apps import apps
    from django.utils.module_loading import import_string

    demos = [config for config in apps.get_app_configs() if getattr(config, "bootstrap_demo", None)]
    for config in demos:
        inspect.signature(import_string(config.bootstrap_demo)).bind(stdout=None, style=None, weights="imagenet")
        monkeypatch.setattr(config, "bootstrap_demo", "tests.deepboot_site.test_commands.record_demo")
    CALLS.clear()
    run("bootstrap", "--only", "classifier", "--weights", "imagenet")
    assert [call["weights"] for call in CALLS] == ["imagenet"]
    run("bootstrap", "--skip", "classifier")
    assert [call["weights"] for call in CALLS[1:]] == ["none"] * (len(demos) - 1)
    with pytest.raises(CommandError):
        run("bootstrap", "--weights", "places365")


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


@pytest.mark.django_db
def test_prune_games_removes_games_last_played_long_ago_and_expired_sessions(settings):
    from datetime import timedelta

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from tictactoe.models import Game, Move

    settings.DEEPBOOT_GAME_RETENTION_DAYS = 7
    old_finished = Game.objects.create(owner="a", x_player="human", board="XXXOO....", status="human_won")
    old_abandoned = Game.objects.create(owner="a", x_player="human", board="X...O....")
    recent = Game.objects.create(owner="b", x_player="ai", board="X........")
    Move.objects.create(game=old_abandoned, number=1, player="human", mark="X", cell=0)
    long_ago = timezone.now() - timedelta(days=8)
    Game.objects.filter(pk__in=[old_finished.pk, old_abandoned.pk]).update(updated=long_ago)
    expired = SessionStore()
    expired["tictactoe"] = True
    expired.set_expiry(-10)
    expired.save()
    kept = SessionStore()
    kept["tictactoe"] = True
    kept.save()

    out = run("prune_games")

    assert list(Game.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Move.objects.exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == [kept.session_key]
    assert "Removed 2 games (1 moves) last played over 7 days ago" in out


@pytest.mark.django_db
def test_prune_games_takes_the_age_from_its_flag_and_refuses_a_negative_one():
    from tictactoe.models import Game

    Game.objects.create(owner="a", x_player="human")
    assert "Removed 0 games" in run("prune_games", "--days", "1")
    assert "Removed 1 games" in run("prune_games", "--days", "0")
    with pytest.raises(CommandError, match="0 or more"):
        run("prune_games", "--days", "-1")


def _two_models(settings, task="tictactoe", arch="dqn"):
    path = settings.MODELS_DIR / "m.keras"
    path.write_text("x")
    return registry.register(task, arch, path), registry.register(task, arch, path)


@pytest.mark.django_db
def test_activation_is_audited_with_who_when_and_what_it_replaced(settings):
    import getpass

    from registry.models import Activation

    first, second = _two_models(settings)
    run("activate_model", str(first.pk))
    run("activate_model", str(second.pk))
    latest, earliest = Activation.objects.all()
    assert (earliest.replaced, earliest.model) == (None, first)
    assert (latest.replaced, latest.model) == (first, second)
    assert latest.by == getpass.getuser() and latest.via == "activate_model" and latest.created >= earliest.created


@pytest.mark.django_db
def test_activating_the_active_model_again_records_nothing(settings):
    from registry.models import Activation

    first, _ = _two_models(settings)
    run("activate_model", str(first.pk))
    run("activate_model", str(first.pk))
    assert Activation.objects.count() == 1


@pytest.mark.django_db
def test_activate_previous_rolls_the_slot_back_to_the_model_it_replaced(settings):
    first, second = _two_models(settings)
    run("activate_model", str(first.pk))
    run("activate_model", str(second.pk))
    output = run("activate_model", "--previous", "tictactoe/dqn")
    assert f"Model {first.pk} is now the active tictactoe/dqn" in output
    assert [r.pk for r in registry.active_records("tictactoe")] == [first.pk]
    run("activate_model", "--previous", "dqn")  # the architecture alone names the slot too
    assert [r.pk for r in registry.active_records("tictactoe")] == [second.pk]


@pytest.mark.django_db
def test_activate_previous_with_no_history_or_an_empty_past_is_a_clear_error(settings):
    first, _ = _two_models(settings)
    with pytest.raises(CommandError, match="No activation of tictactoe/dqn is recorded"):
        run("activate_model", "--previous", "dqn")
    run("activate_model", str(first.pk))
    with pytest.raises(CommandError, match="was empty before model #%d" % first.pk):
        run("activate_model", "--previous", "dqn")
    with pytest.raises(CommandError, match="No slot 'translation/x'"):
        run("activate_model", "--previous", "translation/x")
    with pytest.raises(CommandError, match="Give a model ID or --previous SLOT"):
        run("activate_model")


@pytest.mark.django_db
def test_deactivate_model_empties_the_slot_and_previous_restores_it(settings, client):
    first, _ = _two_models(settings)
    run("activate_model", str(first.pk))
    output = run("deactivate_model", "tictactoe/dqn")
    assert "tictactoe/dqn is now empty" in output and f"activate_model {first.pk}" in output
    assert registry.active_records("tictactoe") == []
    card = client.get("/models/").content.decode()
    assert 'class="card model empty" data-task="tictactoe" data-architecture="dqn"' in card
    assert "already empty" in run("deactivate_model", "dqn")
    run("activate_model", "--previous", "dqn")
    assert [r.pk for r in registry.active_records("tictactoe")] == [first.pk]


@pytest.mark.django_db
def test_deactivate_model_refuses_an_unknown_slot():
    with pytest.raises(CommandError, match="No slot 'gpt'; the slots are: classification/cnn9"):
        run("deactivate_model", "gpt")


@pytest.mark.django_db
def test_bootstrap_only_an_unknown_app_is_a_clear_error():
    with pytest.raises(CommandError, match="No demo model for 'chess'; choose from"):
        run("bootstrap", "--only", "chess")
