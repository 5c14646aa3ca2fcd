"""The site's own pages: home, the Models page, and error pages that leak nothing."""

from django.shortcuts import render
from django.template import loader
from django.http import HttpResponseServerError

from . import registry


def home(request):
    return render(request, "home.html")


def models_page(request):
    """One card per active model; an empty slot says which command fills it."""
    active = {(r.task, r.architecture): r for r in registry.active_records()}
    slots = []
    for slot in registry.all_slots():
        slots.append({"slot": slot, "record": active.pop((slot.task, slot.architecture), None)})
    # Active models of slots no app declares (imported by hand) still get a card.
    slots.extend({"slot": None, "record": record} for record in active.values())
    return render(request, "models.html", {"slots": slots})


def page_not_found(request, exception):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors: the error may come from the database or a template.
    return HttpResponseServerError(loader.get_template("500.html").render())
