from django.db import models


class ExperimentResult(models.Model):
    """One run of `run_experiment NAME`: its training runs' measurements as they come in. The table
    (mean ± std per variant, differences) is computed from them by experiments/stats.py."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed"
        INTERRUPTED = "interrupted"

    name = models.CharField(max_length=32, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    quick = models.BooleanField(default=False)
    seeds = models.PositiveIntegerField(default=1)
    data = models.CharField(max_length=200, blank=True, help_text="The data folder, by name (pages are public).")
    command_line = models.TextField(blank=True)
    measurements = models.JSONField(
        default=list, blank=True, help_text="[{variant, seed, value, runs: [training run ids]}], in order.")
    error = models.TextField(blank=True)
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started", "-pk"]

    def __str__(self):
        return f"{self.name} #{self.pk} ({self.status})"

    def run_ids(self):
        return [pk for m in self.measurements for pk in m.get("runs", [])]
