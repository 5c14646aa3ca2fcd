"""The experiment pages, public and read-only: the list with each experiment's status, and one
page per experiment (table, curves drawn by static/experiments/experiment.js, the book's
expectation, the command line, the runs)."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import catalogue, report as reports


@require_safe
def experiment_list(request):
    latest = reports.latest_results()
    items = [{"experiment": e, "result": latest.get(e.name),
              "command": catalogue.command_line(e.name)} for e in catalogue.EXPERIMENTS.values()]
    return render(request, "experiments/list.html", {"items": items})


@require_safe
def experiment_detail(request, name):
    if name not in catalogue.EXPERIMENTS:
        raise Http404(f"No experiment {name}.")
    page = reports.report(name)
    return render(request, "experiments/detail.html", {
        "page": page, "runs": reports.run_links(page.result), "staff": request.user.is_staff,
    })
