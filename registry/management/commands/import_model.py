"""import_model PATH.keras --task … --arch …: bring a model trained elsewhere into the registry.

The file is loaded and checked against what the task's service expects and what the slot accepts
(see registry/model_import.py) before anything is copied or registered. A file the registry
already holds (same sha256) is reported, not copied again.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import model_import, registry, slots
from registry.models import TrainedModel


class Command(BaseCommand):
    help = (
        "Check that a .keras file loads and fits a task (input and output shapes, class names), copy it "
        "under var/models/<task>/imported-<timestamp>/ and register it (optionally as the active model)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The model file (.keras), e.g. copied from a GPU host.")
        parser.add_argument("--task", required=True, choices=[served.task for served in slots.declared()],
                            help="Which task it serves.")
        architectures = ", ".join(dict.fromkeys(slot.architecture for slot in registry.all_slots()))
        parser.add_argument("--arch", required=True, help=f"Its slot's architecture ({architectures}).")
        parser.add_argument("--activate", action="store_true", help="Make it the active model of its slot.")
        parser.add_argument(
            "--class-names",
            type=Path,
            help="A file of class names in output order (one per line, or a JSON list). Default: those of the "
            "slot's current model, when their number fits the model.",
        )
        parser.add_argument("--dataset", default="", help="What it was trained on (shown on the Models page).")

    def handle(self, *args, **options):
        task, arch, source = options["task"], options["arch"], options["path"].expanduser().resolve()
        started = time.monotonic()
        found = self._inspect(source, self._slot(task, arch), options["class_names"])
        existing = registry.find_same_file(source, found.sha256)
        if existing is not None:
            return self._already(existing, options["activate"])
        target = registry.copy_in(source, task, arch)
        record = registry.register(
            task, arch, target, activate=options["activate"], via="import_model",
            class_names=found.class_names, input_size=found.input_size, preprocessing=found.preprocessing,
            layers=found.layers, parameters=found.parameters,
            dataset=options["dataset"] or f"imported ({source.name})",
            training_run={"command": "import_model", "imported_from": str(source), "sha256": found.sha256,
                          "imported": timezone.now().isoformat(), **found.details},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered model #{record.pk} ({task}/{arch}, {_state(record)}) from {target} "
                f"in {time.monotonic() - started:.1f}s."
            )
        )

    def _slot(self, task, arch):
        slot = registry.find_slot(task, arch)
        if slot is None:
            served = sorted(s.architecture for s in registry.all_slots() if s.task == task)
            raise CommandError(f"No {task} slot '{arch}'; the site serves: {', '.join(served) or 'none'}.")
        return slot

    def _inspect(self, source, slot, class_names_file):
        """Check the file against what the slot's app declares it accepts, and say what it holds."""
        try:
            names = model_import.read_class_names(class_names_file) if class_names_file else None
            self.stdout.write(f"Checking {source} for {slot.task}/{slot.architecture}…")
            found = model_import.inspect(
                source, slots.for_task(slot.task), class_names=names,
                fallback_class_names=self._slot_names(slot.task, slot.architecture), slot=slot,
                declared=slots.declared(),
            )
        except model_import.ImportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"  loads; input {found.input_size}, {found.outputs} outputs, {found.layers} weight layers, "
            f"{found.parameters:,} parameters, preprocessing {found.preprocessing or 'none'}"
            + (f", {len(found.class_names)} classes" if found.class_names else "")
        )
        return found

    def _already(self, record, activate):
        """Report the entry that holds these bytes; nothing is copied, its metrics and run stay."""
        if activate:
            record = registry.activate_model(record.pk, via="import_model")
        self.stdout.write(
            self.style.SUCCESS(
                f"Already registered as model #{record.pk} ({record.task}/{record.architecture}, {_state(record)}), "
                f"same sha256, file {record.path}: nothing copied; its metrics and run are kept."
            )
        )

    def _slot_names(self, task, arch):
        """Class names of the slot's active model, else of its latest registered one."""
        record = registry.active_record(task, arch) or (
            TrainedModel.objects.filter(task=task, architecture=arch).order_by("-created").first()
        )
        return list(record.class_names) if record and record.class_names else None


def _state(record):
    return "active" if record.active else f"inactive; activate with: python manage.py activate_model {record.pk}"
