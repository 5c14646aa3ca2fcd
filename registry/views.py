"""The Models page: one card per slot, the active model's facts formatted for people, each card
drawn by the partial its app declares (AppConfig.model_card, default registry/model_card.html)
and the sections apps add above the cards (AppConfig.models_page_sections)."""

from django.apps import apps
from django.shortcuts import render

from . import metric_display, registry
from .records import demo_runs_in_progress, is_demo

DEFAULT_CARD = "registry/model_card.html"


def _card_templates():
    """{task: the card partial of the app that declares that task's slots}."""
    return {config.slots.task: getattr(config, "model_card", DEFAULT_CARD)
            for config in apps.get_app_configs() if getattr(config, "slots", None) is not None}


def _sections():
    return [name for config in apps.get_app_configs() for name in getattr(config, "models_page_sections", ())]


def _describe(record, staff):
    """The record with what its card shows: formatted facts, per-class bars, and the run that
    trained it where the visitor may open it (staff; anyone for a demo run)."""
    record.facts = metric_display.facts(record.metrics)
    record.per_class = metric_display.per_class(record.metrics)
    run = record.runs.order_by("-started").first()
    record.run = run if run is not None and (staff or is_demo(run)) else None
    return record


def models_page(request):
    """One card per active model (its id, and a link to the run that trained it for those who may
    open it); an empty slot says which command fills it."""
    staff = request.user.is_staff
    active = {(r.task, r.architecture): _describe(r, staff) for r in registry.active_records()}
    training = {}
    for task in {slot.task for slot in registry.all_slots()}:
        training.update({(task, arch): run for arch, run in demo_runs_in_progress(task).items()})
    cards = _card_templates()
    slots = []
    for slot in registry.all_slots():
        key = (slot.task, slot.architecture)
        slots.append({"slot": slot, "record": active.pop(key, None), "training": training.get(key),
                      "card": cards.get(slot.task, DEFAULT_CARD)})
    # Active models of slots no app declares (imported by hand) still get a card.
    slots.extend({"slot": None, "record": record, "card": cards.get(record.task, DEFAULT_CARD)}
                 for record in active.values())
    return render(request, "models.html", {"slots": slots, "sections": _sections()})
