"""The staff-only /runs/ pages: every training run, and one run's learning curves, live.

While a run trains, the page receives its epochs over a WebSocket (`ws/runs/<id>/`) when Redis
joins the training process and the web workers; with the in-memory layer it polls `/runs/<id>.json`.
A run whose process was killed outright shows as interrupted (see `training.reap_dead_runs`).
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render

from . import attempts
from .models import TrainingRun
from .training import reap_dead_runs


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
        "started_by": run.started_by,
        "git_commit": run.git_commit,
        "note": run.note,
        "output_dir": run.output_dir,
        "attempts": attempts.as_data(run),
    }


@staff_member_required
def run_list(request):
    reap_dead_runs()
    runs = TrainingRun.objects.select_related("model")[:200]
    return render(request, "runs/list.html", {"runs": runs})


@staff_member_required
def run_detail(request, pk):
    reap_dead_runs(TrainingRun.objects.filter(pk=pk))
    run = get_object_or_404(TrainingRun, pk=pk)
    return render(
        request,
        "runs/detail.html",
        {"run": run, "run_data": run_data(run), "live_push": bool(settings.REDIS_URL)},
    )


@staff_member_required
def run_json(request, pk):
    reap_dead_runs(TrainingRun.objects.filter(pk=pk))
    return JsonResponse(run_data(get_object_or_404(TrainingRun, pk=pk)))


class RunConsumer(AsyncJsonWebsocketConsumer):
    """Relays one run's events (from deepboot_site.training.publish) to staff browsers."""

    async def connect(self):
        user = self.scope.get("user")
        if not (user and user.is_active and user.is_staff):
            await self.close(code=4403)
            return
        self.run_id = int(self.scope["url_route"]["kwargs"]["pk"])
        if not await database_sync_to_async(TrainingRun.objects.filter(pk=self.run_id).exists)():
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
