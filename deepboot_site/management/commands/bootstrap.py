"""First-run work, safe to repeat: migrate, then make each demo model whose slot is empty."""

import time

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = (
        "Migrate the database and make every demo model that has no active model yet. "
        "Idempotent: a second run does nothing but say so."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        self.stdout.write("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"  done in {time.monotonic() - started:.1f}s")
        for config in apps.get_app_configs():
            maker_path = getattr(config, "bootstrap_demo", None)
            if not maker_path:
                continue
            step_started = time.monotonic()
            self.stdout.write(f"{config.verbose_name}:")
            import_string(maker_path)(stdout=self.stdout, style=self.style)
            self.stdout.write(f"  {config.verbose_name} done in {time.monotonic() - step_started:.1f}s")
        self.stdout.write(self.style.SUCCESS(f"Bootstrap finished in {time.monotonic() - started:.1f}s."))
