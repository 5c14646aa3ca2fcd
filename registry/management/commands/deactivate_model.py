"""Empty a slot: its active model stays registered, inactive, and the slot's pages say so."""

from django.core.management.base import BaseCommand, CommandError

from registry import registry


class Command(BaseCommand):
    help = "Empty SLOT (task/architecture, or the architecture alone, e.g. cnn9): no model is active there after."

    def add_arguments(self, parser):
        parser.add_argument("slot", help="The slot, e.g. classification/cnn9 or cnn9 (see list_models).")

    def handle(self, *args, slot, **options):
        try:
            task, architecture = registry.parse_slot(slot)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        record = registry.deactivate(task, architecture)
        if record is None:
            self.stdout.write(f"{task}/{architecture} was already empty.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{task}/{architecture} is now empty (model {record.pk} stays registered; "
                f"to restore it: python manage.py activate_model {record.pk})."
            )
        )
