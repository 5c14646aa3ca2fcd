"""The admin, branded DeepBoot: the registry (activate keeps one active model per slot and says
which), the audit of activations, and training runs, read-only (the train_* commands write them)."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from . import registry
from .models import Activation, TrainedModel, TrainingRun

admin.site.site_header = "DeepBoot administration"
admin.site.site_title = "DeepBoot admin"
admin.site.index_title = "Models, activations and training runs"

# The metrics the model list shows, when a model has them (first found, per task).
KEY_METRICS = ("test_accuracy", "top1", "val_accuracy", "map50", "mAP@0.5", "win_rate", "draw_rate", "accuracy")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to staff, changed only by the site's own code."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "architecture", "active", "key_metrics", "layers", "dataset", "parameters", "created")
    list_filter = ("task", "architecture", "active")
    search_fields = ("architecture", "dataset", "path")
    readonly_fields = ("created",)
    actions = ["activate_selected"]

    @admin.display(description="Metrics")
    def key_metrics(self, record):
        shown = [(name, record.metrics[name]) for name in KEY_METRICS if name in record.metrics][:3]
        if not shown:
            shown = list(record.metrics.items())[:3]
        return ", ".join(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}"
                         for name, value in shown) or "—"

    @admin.action(description="Activate (replaces the active model of the same slot)")
    def activate_selected(self, request, queryset):
        by = request.user.get_username()
        chosen = {}
        for record in queryset.order_by("created", "pk"):  # the newest selected wins its slot
            chosen.setdefault((record.task, record.architecture), []).append(record)
        for (task, architecture), records in chosen.items():
            winner = registry.activate_model(records[-1].pk, by=by, via="admin")
            skipped = ", ".join(f"#{r.pk}" for r in records[:-1])
            note = f" ({skipped} of the same slot also selected, not activated: one model per slot)" if skipped else ""
            level = messages.WARNING if skipped else messages.SUCCESS
            self.message_user(request, f"Model #{winner.pk} is now the active {task}/{architecture}{note}.", level)


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdmin):
    list_display = ("created", "task", "architecture", "replaced", "model", "by", "via")
    list_filter = ("task", "architecture", "via")


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "command", "task", "architecture", "status", "host", "started", "finished", "run_page")
    list_filter = ("status", "command", "task")

    @admin.display(description="Run page")
    def run_page(self, run):
        return format_html('<a href="{}">/runs/{}/</a>', reverse("run", args=[run.pk]), run.pk)
