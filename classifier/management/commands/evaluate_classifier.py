"""evaluate_classifier: the active networks and their average, side by side, on the same images."""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import registry
from classifier import service


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
        classes = list(loaded[0][1].record.class_names)
        same = [(arch, entry) for arch, entry in loaded if list(entry.record.class_names) == classes]
        for arch, entry in loaded:
            if (arch, entry) not in same:
                self.stderr.write(f"Skipping {arch}: its classes differ from {loaded[0][0]}'s.")
        try:
            dataset = data.scan_folder(root, classes=classes, stdout=self.stdout)
        except data.DataError as exc:
            raise CommandError(str(exc)) from exc
        if options["split"] == "test":
            items = self.test_items(dataset, same, root)
        else:
            items = dataset.items
        networks = [
            evaluate.Network(arch, entry.model, entry.model.input_shape[1], entry.record.pk, entry.record.layers)
            for arch, entry in same
        ]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = service.evaluation_dir() / "evaluations" / stamp
        description = f"{root.name}, {options['split']} split"
        self.stdout.write(f"Evaluating {', '.join(n.arch for n in networks)} on {len(items)} images ({description})")
        result = evaluate.evaluate(networks, root, items, classes, out_dir, description=description, stdout=self.stdout)
        result.update(data=str(root), split=options["split"], classes=classes, created=timezone.now().isoformat())
        evaluate.write_json(result, out_dir / "evaluation.json")
        evaluate.write_json(result, service.latest_evaluation_path())
        if options["json"]:
            evaluate.write_json(result, options["json"])
            self.stdout.write(f"JSON: {options['json']}")
        self.stdout.write(f"Confusion matrices and chart: {out_dir}")
        self.stdout.write(self.style.SUCCESS(
            f"Average of {len(networks)} network(s): top-1 {result['average']['top1']:.3f}, "
            f"top-5 {result['average']['top5']:.3f} on {result['n_images']} images"
        ))

    def test_items(self, dataset, loaded, root):
        """The images in the test split of every evaluated model (the intersection: none of them trained on it)."""
        from classifier import data

        test = None
        for arch, entry in loaded:
            split_file = (entry.record.training_run or {}).get("split_file")
            if not split_file:
                raise CommandError(f"Model #{entry.record.pk} ({arch}) has no recorded split: use --split all.")
            try:
                recorded = json.loads(registry.absolute_path(split_file).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read the split of model #{entry.record.pk}: {exc}") from exc
            paths = set(recorded.get("test", []))
            test = paths if test is None else test & paths
        items = data.items_from_paths(dataset, sorted(test or ()))
        if not items:
            raise CommandError(
                f"None of the test images recorded with the models is under {root}; "
                "evaluate a separate test folder with --split all."
            )
        return items
