"""List the model registry, active models first."""

from django.core.management.base import BaseCommand

from registry.models import TrainedModel


class Command(BaseCommand):
    help = "List every registered model: id, slot, active flag, data set, metrics and file."

    def add_arguments(self, parser):
        parser.add_argument("--task", choices=TrainedModel.Task.values, help="Only this task.")
        parser.add_argument("--active", action="store_true", help="Only active models.")

    def handle(self, *args, task=None, active=False, **options):
        records = TrainedModel.objects.order_by("-active", "task", "architecture", "-created")
        if task:
            records = records.filter(task=task)
        if active:
            records = records.filter(active=True)
        if not records:
            self.stdout.write("No models registered. Run: python manage.py bootstrap")
            return
        self.stdout.write(f"{'ID':>4}  {'ACTIVE':6}  {'TASK':14}  {'ARCH':10}  {'CREATED':16}  METRICS")
        for record in records:
            metrics = ", ".join(f"{k}={_short(v)}" for k, v in record.metrics.items())
            self.stdout.write(
                f"{record.pk:>4}  {'yes' if record.active else '':6}  {record.task:14}  "
                f"{record.architecture:10}  {record.created:%Y-%m-%d %H:%M}  {metrics}  [{record.path}]"
            )


def _short(value):
    return f"{value:.4f}" if isinstance(value, float) else value
