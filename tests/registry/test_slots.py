"""The slots each app declares on its AppConfig (registry/slots.py), found by the registry through
the app configs, and the loader the registry serves a slot's model with."""

import pytest
from django.apps import apps
from django.utils.module_loading import import_string

from registry import registry, slots
from registry.slots import Slot, TaskSlots


def read_weights(path):
    """A stand-in for an app's networks.load_model: the file's text."""
    return f"loaded {path.read_text()}"


def test_each_app_declares_one_task_and_the_registry_lists_its_slots_in_app_order():
    declared = slots.declared()
    assert [served.task for served in declared] == ["classification", "detection", "tictactoe"]
    assert registry.all_slots() == [slot for served in declared for slot in served.slots]
    assert apps.get_app_config("classifier").slots is slots.for_task("classification")
    assert slots.for_task("translation") is None


def test_every_declared_loader_and_rule_resolves_to_a_function():
    for served in slots.declared():
        for dotted in filter(None, (served.loader, served.check, served.class_names)):
            assert callable(import_string(dotted)), dotted


def test_a_slot_of_another_task_is_refused_where_it_is_declared():
    with pytest.raises(ValueError, match="declare another task"):
        TaskSlots("classification", slots=(Slot("detection", "tiny", "train"),), loader="x.load", check="x.check")


@pytest.mark.django_db
def test_the_registry_serves_a_slot_with_the_loader_its_app_declares(settings, monkeypatch):
    served = TaskSlots("classification", slots=(Slot("classification", "cnn9", "train"),),
                       loader=f"{__name__}.read_weights", check="x.check")
    monkeypatch.setattr(slots, "declared", lambda: [served])
    path = settings.MODELS_DIR / "test" / "a.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("weights")
    registry.clear_cache()
    registry.register("classification", "cnn9", path, activate=True)
    assert registry.load_active("classification", "cnn9").model == "loaded weights"
    registry.clear_cache()
