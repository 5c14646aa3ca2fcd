from django.contrib import admin

from . import registry
from .models import TrainedModel, TrainingRun


@admin.register(TrainedModel)
class TrainedModelAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "architecture", "active", "dataset", "parameters", "created")
    list_filter = ("task", "architecture", "active")
    search_fields = ("architecture", "dataset", "path")
    readonly_fields = ("created",)
    actions = ["activate_selected"]

    @admin.action(description="Activate (replaces the active model of the same slot)")
    def activate_selected(self, request, queryset):
        for record in queryset:
            registry.activate(record.pk)
        self.message_user(request, f"Activated {queryset.count()} model(s).")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "command", "task", "architecture", "status", "host", "started", "finished")
    list_filter = ("status", "command", "task")
    readonly_fields = ("started", "updated", "finished")
