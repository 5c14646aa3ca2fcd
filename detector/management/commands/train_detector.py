"""train_detector --data DIR: train a YOLO detector on a VOC folder and register it.

The training flags come from detector.train.TrainConfig's fields (deepboot/cli.py), so each default
and help text is written once, in the dataclass."""

import time
from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deepboot import cli
from registry import training

# Given by hand: --data is required.
BY_HAND = ("data",)


class Command(BaseCommand):
    help = (
        "Train a YOLO detector (tiny or the 26-layer yolo26) on a PASCAL VOC folder, with validation "
        "mAP after each epoch, checkpoints and learning curves; evaluate it on the test split and "
        "record it in the model registry."
    )

    def add_arguments(self, parser):
        from detector.train import TrainConfig

        docs = cli.field_docs(TrainConfig)
        parser.add_argument("--data", required=True, type=Path, help=docs["data"])
        cli.add_config_arguments(parser, {"detector": TrainConfig}, skip=BY_HAND)
        parser.add_argument("--activate", action="store_true", help="Make the new model the active one of its slot.")
        training.add_training_arguments(parser)

    def handle(self, *args, **options):
        from detector import evaluate, register, voc
        from detector.train import train

        config = config_of(options)
        # The run records the settings it trains with (its page shows them; a rerun resumes by them).
        options.update({name: value for name, value in asdict(config).items() if name != "data"})
        started = time.monotonic()
        with training.start_run("train_detector", options, task="detection", architecture=config.variant,
                                stdout=self.stdout, total=config.epochs) as run:
            try:
                result = train(config, run.output_dir(register.output_folder(config)), run.hooks())
            except voc.VocError as exc:
                raise CommandError(str(exc)) from exc
            if not run.is_chief:
                self.stdout.write("This worker's part is done; the chief saves and registers the model.")
                return
            self.stdout.write(
                f"Trained in {result.seconds:.1f}s ({result.extra['cpu_seconds']:.0f} CPU-seconds); best validation "
                f"mAP@0.5 {result.val_map50:.4f} (epoch {result.best_epoch}). Model: {result.model_path}\n"
                f"Curves: {result.curves_path}"
            )
            evaluation = evaluate.evaluate_test_split(result.model_path, config.data, result.class_names,
                                                      result.model_path.parent, f"{config.variant}, test split",
                                                      say=self.stdout.write)
            if evaluation is not None:
                self.stdout.write(f"Test split: mAP@0.5 {evaluation.map50:.4f} on {evaluation.n_images} images; "
                                  f"PR curves: {evaluation.pr_png}; boxes on test images: {evaluation.detections_png}; "
                                  f"report: {evaluation.report_json}")
                for line in evaluation.class_lines():
                    self.stdout.write(line)
            record = register.register_detector(run, config, result, evaluation, activate=options["activate"])
        state = "active" if record.active else "not active (use --activate or manage.py activate_model)"
        self.stdout.write(self.style.SUCCESS(
            f"Registered model #{record.pk} detection/{config.variant}, {state}: mAP@0.5 "
            f"{record.metrics['map50']:.4f}; {time.monotonic() - started:.1f}s in all."
        ))


def config_of(options):
    """The resolved TrainConfig of the parsed flags; CommandError naming the flag otherwise."""
    from detector import voc
    from detector.train import TrainConfig

    for name, least in (("epochs", 1), ("batch_size", 1), ("patience", 0)):
        if options.get(name) is not None and options[name] < least:
            raise CommandError(f"{cli.flag_name(name)} must be {'at least 1' if least else '0 or more'}.")
    if options.get("lr") is not None and not 0 < options["lr"] < 1:
        raise CommandError("--lr must be between 0 and 1.")
    data = Path(options["data"]).expanduser().resolve()
    try:
        voc.check_layout(data)
        return cli.config_from_options(TrainConfig, {**options, "data": str(data)}).resolved()
    except (voc.VocError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
