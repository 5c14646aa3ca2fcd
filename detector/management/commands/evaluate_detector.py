"""evaluate_detector --data DIR: VOC mAP@0.5 of the active detector, AP per class, PR curves."""

import json
import math
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import registry


class Command(BaseCommand):
    help = (
        "Evaluate the active detector (or --variant / --model) on a VOC folder: mAP at IoU 0.5 with "
        "all-point interpolation (VOC 2010+), AP per class, and a precision-recall plot."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, type=Path, help="VOC folder to evaluate on.")
        parser.add_argument("--split", choices=("test", "val", "train", "all"), default="test",
                            help="Which images: the test split (default), or all annotated images.")
        parser.add_argument("--json", type=Path, help="Write the results as JSON to this file.")
        parser.add_argument("--variant", choices=("yolo26", "tiny"),
                            help="Which active model (default: the one the site serves).")
        parser.add_argument("--model", type=int, help="A registry id instead (active or not).")
        parser.add_argument("--plot", type=Path, help="Where to save the PR plot (default next to --json, or "
                            "var/models/detection/evaluations/).")
        parser.add_argument("--score-threshold", type=float, default=0.01,
                            help="Lowest detection score counted (default 0.01).")

    def _record(self, options):
        """(the registry entry to evaluate, its model file)."""
        record = self._entry(options)
        path = registry.absolute_path(record.path)
        if not path.exists():
            raise CommandError(f"The file of model #{record.pk} is missing: {path}")
        return record, path

    def _entry(self, options):
        from registry.models import TrainedModel
        from detector import service

        if options["model"] is not None:
            record = TrainedModel.objects.filter(pk=options["model"], task=service.TASK).first()
            if record is None:
                raise CommandError(f"No detection model #{options['model']} in the registry (see list_models).")
            return record
        try:
            architecture = options["variant"] or service.active_architecture()
        except registry.ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        record = registry.active_record(service.TASK, architecture)
        if record is None:
            raise CommandError(f"No active detection model '{architecture}'. Run: "
                               f"{registry.slot_command(service.TASK, architecture)}")
        return record

    def _plot_path(self, options, record, data_dir):
        if options["plot"]:
            return options["plot"]
        if options["json"]:
            return options["json"].with_suffix(".pr.png")
        if not hasattr(self, "_stamp"):
            self._stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        folder = Path(settings.MODELS_DIR) / "detection" / "evaluations"
        return folder / f"model{record.pk}-{data_dir.name}-{options['split']}-{self._stamp}.png"

    def handle(self, *args, **options):
        from detector import voc
        from detector.data import DetectionData
        from detector.evaluate import evaluate_data
        from detector.networks import load_model

        if not 0 <= options["score_threshold"] <= 1:
            raise CommandError("--score-threshold must be between 0 and 1.")
        for name in ("data", "json", "plot"):  # call_command passes strings as they are
            if options[name] is not None:
                options[name] = Path(options[name])
        record, path = self._record(options)
        data_dir = options["data"].expanduser().resolve()
        try:
            data = DetectionData.load(data_dir, options["split"], class_names=record.class_names)
        except voc.VocError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Evaluating model #{record.pk} ({record.architecture}, {len(record.class_names)} classes) on "
            f"{len(data)} images of {data_dir} (split {options['split']}: {voc.split_description(data_dir)})"
        )
        pr_path = self._plot_path(options, record, data_dir)
        evaluation = evaluate_data(
            load_model(path), data, list(record.class_names), score_threshold=options["score_threshold"],
            pr_png=pr_path, detections_png=pr_path.with_name(pr_path.stem.removesuffix(".pr") + ".detections.png"),
            title=f"{record.architecture} #{record.pk} on {data_dir.name} ({options['split']})",
        )
        if math.isnan(evaluation.map50):
            raise CommandError("None of the model's classes appears in these annotations: no mAP to compute.")
        for line in evaluation.class_lines():
            self.stdout.write(line)
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            report = evaluation.as_json(model={"id": record.pk, "architecture": record.architecture})
            options["json"].write_text(json.dumps(report, indent=2))
            self.stdout.write(f"JSON: {options['json']}")
        self.stdout.write(f"Precision-recall plot: {pr_path}\nBoxes on the first images: {evaluation.detections_png}")
        self.stdout.write(self.style.SUCCESS(
            f"mAP@0.5 {evaluation.map50:.4f} on {evaluation.n_images} images ({evaluation.seconds:.1f}s)"
        ))
