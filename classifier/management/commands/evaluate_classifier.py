"""evaluate_classifier: the active networks and their average, side by side, on the same images.

The evaluation itself is classifier/evaluate.py; this command finds the active models, their
recorded splits and where to write."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from classifier import service
from registry import registry


class Command(BaseCommand):
    help = (
        "Top-1 and top-5 accuracy of each active classifier and of their average (mean softmax), per-class "
        "accuracy and confusion matrices (PNG), on the recorded test split of DIR or on every image in it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, type=Path, help="DIR/<class>/<image>.")
        parser.add_argument("--split", choices=("test", "all"), default="test",
                            help="test: the test split recorded with the models (default); all: every image "
                            "under DIR (a separate test folder with the same class names).")
        parser.add_argument("--json", type=Path, help="Also write the result here.")

    def handle(self, *args, **options):
        from classifier import data, evaluate

        root = options["data"].expanduser().resolve()
        if not root.is_dir():
            raise CommandError(f"No data folder at {root}.")
        try:
            loaded, failed = service.active_models()
        except registry.ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        for arch, message in failed.items():
            self.stderr.write(f"Skipping {arch}: {message}")
        classes, networks, other = evaluate.networks_over_the_same_classes(loaded)
        for arch in other:
            self.stderr.write(f"Skipping {arch}: its classes differ from {networks[0].arch}'s.")
        try:
            dataset = data.scan_folder(root, classes=classes, stdout=self.stdout)
            items = dataset.items if options["split"] == "all" else evaluate.recorded_test_items(
                dataset, [(f"model #{entry.record.pk} ({arch})", _split_path(entry.record)) for arch, entry in loaded
                          if arch not in other])
        except data.DataError as exc:
            raise CommandError(str(exc)) from exc
        out_dir = service.evaluation_dir() / "evaluations" / time.strftime("%Y%m%d-%H%M%S")
        description = f"{root.name}, {options['split']} split"
        self.stdout.write(f"Evaluating {', '.join(n.arch for n in networks)} on {len(items)} images ({description})")
        result = evaluate.evaluate(networks, root, items, classes, out_dir, description=description, stdout=self.stdout)
        result.update(data=str(root), split=options["split"], classes=classes, created=timezone.now().isoformat())
        for path in (out_dir / "evaluation.json", service.latest_evaluation_path(), options["json"]):
            if path:
                evaluate.write_json(result, path)
        if options["json"]:
            self.stdout.write(f"JSON: {options['json']}")
        self.stdout.write(f"Confusion matrices and chart: {out_dir}")
        self.stdout.write(self.style.SUCCESS(
            f"Average of {len(networks)} network(s): top-1 {result['average']['top1']:.3f}, "
            f"top-5 {result['average']['top5']:.3f} on {result['n_images']} images"
        ))


def _split_path(record):
    """The split.json recorded with a registry entry, or None."""
    split_file = (record.training_run or {}).get("split_file")
    return registry.absolute_path(split_file) if split_file else None
