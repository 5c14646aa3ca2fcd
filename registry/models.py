"""The model registry: one row per trained model, at most one active per (task, architecture)."""

from django.db import models
from django.db.models import Q


class TrainedModel(models.Model):
    """A trained network (or agent) saved under `var/models/`, with what it needs to serve."""

    class Task(models.TextChoices):
        CLASSIFICATION = "classification", "Image classification"
        DETECTION = "detection", "Object detection"
        TICTACTOE = "tictactoe", "Tic-tac-toe"

    task = models.CharField(max_length=32, choices=Task.choices)
    architecture = models.CharField(max_length=32, help_text="cnn9, vgg16, resnet152, tiny, yolo26, dqn…")
    path = models.CharField(max_length=500, help_text="Model file, relative to var/models/.")
    class_names = models.JSONField(default=list, blank=True)
    input_size = models.JSONField(default=list, blank=True, help_text="[height, width] or [features].")
    preprocessing = models.CharField(max_length=100, blank=True)
    layers = models.PositiveIntegerField(default=0, help_text="Weight layers, as the book counts them.")
    parameters = models.PositiveBigIntegerField(default=0)
    dataset = models.CharField(max_length=200, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    training_run = models.JSONField(default=dict, blank=True, help_text="Command, arguments, split, timing.")
    created = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["task", "architecture", "-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "architecture"],
                condition=Q(active=True),
                name="one_active_model_per_slot",
            )
        ]

    def __str__(self):
        state = "active" if self.active else "inactive"
        return f"#{self.pk} {self.task}/{self.architecture} ({state})"


class TrainingRun(models.Model):
    """One invocation of a train_* command, recorded as it goes (see registry/training.py)."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        FAILED = "failed"
        INTERRUPTED = "interrupted"

    command = models.CharField(max_length=64)
    arguments = models.JSONField(default=dict, blank=True)
    command_line = models.TextField(blank=True)
    resume_key = models.CharField(max_length=64, db_index=True, help_text="Same command line, same key.")
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(
        null=True, blank=True, help_text="Process id of the training command on `host` (a dead one means interrupted)."
    )
    task = models.CharField(max_length=32, blank=True)
    architecture = models.CharField(max_length=32, blank=True)
    distribute = models.CharField(max_length=200, blank=True)
    replicas = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    epochs = models.JSONField(default=list, blank=True, help_text="Per-epoch metrics, in order.")
    artifacts = models.JSONField(default=dict, blank=True, help_text="Name -> path under var/.")
    error = models.TextField(blank=True)
    resumed = models.PositiveIntegerField(default=0, help_text="How many times it was resumed.")
    model = models.ForeignKey(TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    output_dir = models.CharField(
        max_length=500, blank=True, help_text="The run's one output folder (all attempts), relative to var/ when inside."
    )
    started_by = models.CharField(max_length=150, blank=True, help_text="OS user, or the staff user of the site.")
    git_commit = models.CharField(max_length=64, blank=True, help_text="Commit of the code that started the run.")
    note = models.TextField(blank=True, help_text="--note: why the run was started.")
    started = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return f"run #{self.pk} {self.command} ({self.status})"


class Activation(models.Model):
    """One change of a slot's active model (see registry/registry.py): who made it, when, how,
    what it replaced, and what it made active (none: the slot was emptied)."""

    task = models.CharField(max_length=32)
    architecture = models.CharField(max_length=32)
    model = models.ForeignKey(
        TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="activations",
        help_text="The model made active; empty when the slot was emptied.",
    )
    replaced = models.ForeignKey(
        TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by",
        help_text="The slot's active model before; empty when the slot was empty.",
    )
    by = models.CharField(max_length=150, blank=True, help_text="Staff user (admin) or OS user (commands).")
    via = models.CharField(max_length=64, blank=True, help_text="The command or admin action.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        now = f"#{self.model_id}" if self.model_id else "empty"
        before = f"#{self.replaced_id}" if self.replaced_id else "empty"
        return f"{self.task}/{self.architecture}: {before} -> {now} by {self.by or '?'}"


class RunAttempt(models.Model):
    """One process that worked on a training run: the first start, then each resume."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(help_text="1 for the first start, 2 for the first resume, …")
    command_line = models.TextField(blank=True)
    arguments = models.JSONField(default=dict, blank=True, help_text="All options of this attempt (activate, note…).")
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    git_commit = models.CharField(max_length=64, blank=True)
    started = models.DateTimeField()
    finished = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=TrainingRun.Status.choices, default=TrainingRun.Status.RUNNING)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="one_attempt_number_per_run")]

    def __str__(self):
        return f"run #{self.run_id} attempt {self.number} ({self.outcome})"
