"""The staff-only /runs/ pages: every training run, and one run's learning curves, live.

A demo run (one `bootstrap` started, `--demo`) is the exception: its page, its JSON and its
WebSocket are public, read-only and without the server's details (host, paths, command line,
artefacts), so visitors can watch the demo models learn. Its files stay staff-only.

While a run trains, the page receives its epochs over a WebSocket (`ws/runs/<id>/`) when Redis
joins the training process and the web workers; with the in-memory layer it polls `/runs/<id>.json`.
A run whose process was killed outright shows as interrupted (see `training.reap_dead_runs`).
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from . import attempts, run_files, run_stats, run_table
from .models import TrainingRun
from .records import is_demo
from .training import reap_dead_runs

COMPARE_MAX = 8


def run_data(run):
    """A run as the page's script and the JSON endpoint see it."""
    return {
        "id": run.pk,
        "command": run.command,
        "command_line": run.command_line,
        "status": run.status,
        "host": run.host,
        "pid": run.pid,
        "distribute": run.distribute,
        "epochs": run.epochs,
        "artifacts": run.artifacts,
        "error": run.error,
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "task": run.task,
        "architecture": run.architecture,
        "resumed": run.resumed,
        "attempt_count": run_stats.attempt_count(run),
        "progress": run_stats.progress(run),
        "best_validation": run_stats.best_validation(run),
        "started_by": run.started_by,
        "git_commit": run.git_commit,
        "note": run.note,
        "output_dir": run.output_dir,
        "attempts": attempts.as_data(run),
    }


# What a visitor who is not staff sees of a demo run: its progress and curves, nothing of the server.
PUBLIC_FIELDS = ("id", "command", "status", "epochs", "started", "finished", "task", "architecture", "resumed",
                 "attempt_count", "progress", "best_validation")


def public_run_data(run):
    data = run_data(run)
    return {key: data[key] for key in PUBLIC_FIELDS}


def is_staff(user):
    return bool(user and user.is_active and user.is_staff)


def demo_or_staff(view):
    """Staff see every run; anyone else a demo run only (read-only), or the admin login."""
    def wrapped(request, pk):
        if not is_staff(request.user) and not is_demo(TrainingRun.objects.filter(pk=pk).first()):
            return redirect_to_login(request.get_full_path(), "admin:login")
        return view(request, pk)

    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    return wrapped


@staff_member_required
def run_list(request):
    """Every run (the latest 200), filtered and sorted by the query string; the page refreshes its
    table by fetching itself again (static/deepboot/runs_list.js)."""
    reap_dead_runs()
    query = run_table.Query.from_get(request.GET)
    latest = TrainingRun.objects.select_related("model").order_by("-started")[:200]
    runs = TrainingRun.objects.filter(pk__in=[run.pk for run in latest]).select_related("model")
    context = {"rows": run_table.rows(runs, query), "query": query, "choices": run_table.choices(runs), "any": bool(latest),
               "sort_links": query.sort_links(), "key_parameters": run_table.run_stats.KEY_PARAMETERS}
    return render(request, "runs/list.html", context)


@demo_or_staff
def run_detail(request, pk):
    reap_dead_runs(TrainingRun.objects.filter(pk=pk))
    run = get_object_or_404(TrainingRun, pk=pk)
    staff = is_staff(request.user)
    context = {
        "run": run,
        "staff": staff,
        "run_data": run_data(run) if staff else public_run_data(run),
        "live_push": bool(settings.REDIS_URL),
        "artefacts": run_files.artefacts(run) if staff else [],
    }
    return render(request, "runs/detail.html", context)


@demo_or_staff
def run_json(request, pk):
    reap_dead_runs(TrainingRun.objects.filter(pk=pk))
    run = get_object_or_404(TrainingRun, pk=pk)
    return JsonResponse(run_data(run) if is_staff(request.user) else public_run_data(run))


@staff_member_required
def run_file(request, pk, path):
    """One file of the run's output folder: inline for a preview, as an attachment with ?download."""
    run = get_object_or_404(TrainingRun, pk=pk)
    try:
        resolved = run_files.resolve(run, path)
    except run_files.NotServed as exc:
        return render(request, "runs/error.html", {"title": _("No such file"), "message": str(exc)}, status=404)
    download = "download" in request.GET or run_files.PREVIEWS.get(resolved.suffix.lower()) is None
    response = FileResponse(open(resolved, "rb"), as_attachment=download, filename=resolved.name)
    if resolved.suffix.lower() in {".json", ".txt", ".csv", ".log"} and not download:
        response["Content-Type"] = "text/plain; charset=utf-8"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def compare_ids(request):
    """The run ids of `?ids=1,2,3` (or repeated `ids=`), in order, without repeats; ValueError
    with a sentence for anything else."""
    raw = [part.strip() for value in request.GET.getlist("ids") for part in value.split(",") if part.strip()]
    if not raw:
        raise ValueError(_("Choose runs to compare: /runs/compare/?ids=1,2"))
    bad = [part for part in raw if not part.isdigit()]
    if bad:
        raise ValueError(_("Run ids are numbers; this is not one: %(id)s.") % {"id": bad[0][:40]})
    ids = list(dict.fromkeys(int(part) for part in raw))
    if len(ids) > COMPARE_MAX:
        raise ValueError(_("Compare at most %(count)d runs at a time.") % {"count": COMPARE_MAX})
    return ids


@staff_member_required
def run_compare(request):
    """Several runs side by side: overlaid curves, the hyper-parameters that differ, their metrics."""
    try:
        ids = compare_ids(request)
    except ValueError as exc:
        return render(request, "runs/error.html", {"title": _("Cannot compare"), "message": str(exc)}, status=400)
    found = TrainingRun.objects.select_related("model").in_bulk(ids)
    missing = [pk for pk in ids if pk not in found]
    if missing:
        message = _("No run #%(ids)s.") % {"ids": ", #".join(map(str, missing))}
        return render(request, "runs/error.html", {"title": _("Cannot compare"), "message": message}, status=404)
    runs = [found[pk] for pk in ids]
    metrics = [run_stats.final_metrics(run) for run in runs]
    names = sorted(set().union(*metrics))
    context = {
        "runs": runs,
        "rows": [run_table.row(run) for run in runs],
        "differing": run_stats.differing_parameters(runs),
        "metrics": [(name, [m.get(name) for m in metrics]) for name in names],
        "compare_data": [run_data(run) for run in runs],
    }
    return render(request, "runs/compare.html", context)


class RunConsumer(AsyncJsonWebsocketConsumer):
    """Relays one run's events (from registry.training.publish) to staff browsers, and a demo
    run's to anyone."""

    async def connect(self):
        self.run_id = int(self.scope["url_route"]["kwargs"]["pk"])
        run = await database_sync_to_async(TrainingRun.objects.filter(pk=self.run_id).first)()
        if not is_staff(self.scope.get("user")) and not is_demo(run):
            await self.close(code=4403)
            return
        if run is None:
            await self.close(code=4404)
            return
        self.group = f"run-{self.run_id}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "error", "message": "This socket only sends run events."})

    async def run_event(self, event):
        await self.send_json({key: value for key, value in event.items() if key != "type"} | {"type": "run"})
