"""fetch_dataset NAME: download (or take a local) data set archive, check it, unpack it safely.

The data sets are declared by the apps: `datasets = {"caltech101": "classifier.datasets.CALTECH101"}`
on an AppConfig names a `deepboot.datasets.DatasetSpec`. The work is in deepboot/datasets.py.
"""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from deepboot import datasets, downloads


def dataset_specs():
    """{name: dotted path of its DatasetSpec} over every installed app."""
    specs = {}
    for config in apps.get_app_configs():
        specs.update(getattr(config, "datasets", {}) or {})
    return specs


class Command(BaseCommand):
    help = (
        "Download a public data set archive (or take a local one), check its checksum and unpack it "
        "safely into var/data/NAME (or --dest). A broken download resumes when run again."
    )

    def add_arguments(self, parser):
        names = sorted(dataset_specs())
        parser.add_argument("name", choices=names, help="Which data set: " + ", ".join(names))
        parser.add_argument("--dest", type=Path, help="Where the final layout goes (default var/data/NAME).")
        parser.add_argument(
            "--archive", help="A local archive path or a URL to use instead of the official URL."
        )
        parser.add_argument(
            "--checksum", help="md5:<hex> or sha256:<hex> of --archive (for a mirror or a test archive)."
        )
        parser.add_argument(
            "--downloads", type=Path, help="Where downloads are kept, resumable (default var/data/downloads)."
        )
        parser.add_argument("--force", action="store_true", help="Replace DEST if it already holds data.")
        parser.add_argument("--retries", type=int, default=3, help="Retries of a broken download (default 3).")

    def handle(self, *args, **options):
        name = options["name"]
        spec = import_string(dataset_specs()[name])
        dest = options["dest"] or Path(settings.DATA_DIR) / name
        if options["checksum"]:
            try:
                downloads.parse_checksum(options["checksum"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        try:
            datasets.fetch_dataset(
                spec,
                dest,
                archive=options["archive"],
                checksum=options["checksum"],
                downloads_dir=options["downloads"] or Path(settings.DATA_DIR) / "downloads",
                stdout=self.stdout,
                force=options["force"],
                retries=options["retries"],
            )
        except downloads.DownloadError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{name}: done, in {Path(dest).resolve()}"))
