"""Make one registered model the active model of its slot."""

from django.core.management.base import BaseCommand, CommandError

from deepboot_site import registry
from deepboot_site.models import TrainedModel


class Command(BaseCommand):
    help = "Activate model ID (see list_models); the slot's previous active model is deactivated."

    def add_arguments(self, parser):
        parser.add_argument("id", type=int, help="The model's ID, as list_models prints it.")

    def handle(self, *args, id, **options):
        try:
            record = registry.activate_model(id)
        except TrainedModel.DoesNotExist:
            raise CommandError(f"No model with ID {id}. See: python manage.py list_models") from None
        if not registry.absolute_path(record.path).exists():
            self.stderr.write(self.style.WARNING(f"Warning: its file {record.path} is missing."))
        self.stdout.write(
            self.style.SUCCESS(f"Model {record.pk} is now the active {record.task}/{record.architecture}.")
        )
