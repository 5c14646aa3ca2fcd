"""First-run work, safe to repeat: migrate, then make each demo model whose slot is empty."""

import time

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string


def demo_apps():
    """The app configs that make a demo model, in INSTALLED_APPS order."""
    return [config for config in apps.get_app_configs() if getattr(config, "bootstrap_demo", None)]


class Command(BaseCommand):
    help = (
        "Migrate the database and make every demo model that has no active model yet. "
        "Idempotent: a second run does nothing but say so."
    )

    def add_arguments(self, parser):
        parser.add_argument("--only", action="append", default=[], metavar="APP",
                            help="Make only this app's demo model (repeatable): classifier, detector, tictactoe.")
        parser.add_argument("--skip", action="append", default=[], metavar="APP",
                            help="Leave this app's demo model out (repeatable).")
        parser.add_argument("--weights", choices=("none", "imagenet"), default="none",
                            help="imagenet: fine-tune the vgg16 and resnet152 demo models from Keras' ImageNet "
                            "weights (from the Keras cache, or downloaded from DEEPBOOT_KERAS_WEIGHTS_URL into it) "
                            "instead of training them from scratch. Default none.")

    def handle(self, *args, **options):
        chosen = demo_apps()
        known = [config.label for config in chosen]
        unknown = [label for label in options["only"] + options["skip"] if label not in known]
        if unknown:
            raise CommandError(f"No demo model for {unknown[0]!r}; choose from {', '.join(known)}.")
        chosen = [c for c in chosen if (not options["only"] or c.label in options["only"]) and c.label not in options["skip"]]
        started = time.monotonic()
        self.stdout.write("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"  done in {time.monotonic() - started:.1f}s")
        for config in chosen:
            step_started = time.monotonic()
            self.stdout.write(f"{config.verbose_name}:")
            import_string(config.bootstrap_demo)(stdout=self.stdout, style=self.style, weights=options["weights"])
            self.stdout.write(f"  {config.verbose_name} done in {time.monotonic() - step_started:.1f}s")
        self.stdout.write(self.style.SUCCESS(f"Bootstrap finished in {time.monotonic() - started:.1f}s."))
