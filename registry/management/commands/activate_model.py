"""Make one registered model the active model of its slot, or roll a slot back (--previous)."""

from django.core.management.base import BaseCommand, CommandError

from registry import registry
from registry.models import TrainedModel


class Command(BaseCommand):
    help = (
        "Activate model ID (see list_models); the slot's previous active model is deactivated. "
        "Or --previous SLOT: activate the model that was active in SLOT before the latest change."
    )

    def add_arguments(self, parser):
        parser.add_argument("id", type=int, nargs="?", help="The model's ID, as list_models prints it.")
        parser.add_argument(
            "--previous",
            metavar="SLOT",
            help="Roll SLOT (task/architecture, or the architecture alone, e.g. cnn9) back to the model "
            "it had before its latest activation.",
        )

    def handle(self, *args, id=None, previous=None, **options):
        if (id is None) == (previous is None):
            raise CommandError("Give a model ID or --previous SLOT (one of them).")
        if previous is not None:
            try:
                id = registry.previous_model(*registry.parse_slot(previous)).pk
            except (ValueError, registry.NoPrevious) as exc:
                raise CommandError(str(exc)) from None
        try:
            record = registry.activate_model(id, via="activate_model --previous" if previous else "activate_model")
        except TrainedModel.DoesNotExist:
            raise CommandError(f"No model with ID {id}. See: python manage.py list_models") from None
        if not registry.absolute_path(record.path).exists():
            self.stderr.write(self.style.WARNING(f"Warning: its file {record.path} is missing."))
        self.stdout.write(
            self.style.SUCCESS(f"Model {record.pk} is now the active {record.task}/{record.architecture}.")
        )
