"""train_classifier: train cnn9, vgg16 or resnet152 on a <root>/<class>/<image> folder and record it.

The flags of the training itself are TrainConfig's fields (classifier/train.py: each default and
help text is written there once); the run (strategy, mixed precision, XLA, per-epoch records,
resume after a kill, chief and worker folders) is registry/training.py; the registry entry is
classifier/register.py.
"""

import time
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deepboot import cli
from registry import training

# Fields whose flags are written here: required ones, and optional values (None: the default
# the field's docstring gives), which deepboot.cli does not type.
BY_HAND = {"arch": {"required": True}, "data": {"required": True, "metavar": "DIR"},
           "lr": {"type": float}, "fine_tune_lr": {"type": float},
           "self_training": {"metavar": "UNLABELLED_DIR"}}


class Command(BaseCommand):
    help = (
        "Train one classifier (cnn9, vgg16 or resnet152) on DIR/<class>/<image>: Keras progress bars, "
        "checkpoints, early stopping, learning curves as PNG, the model and its metrics in the registry."
    )

    def add_arguments(self, parser):
        from classifier.networks import ARCHITECTURES
        from classifier.train import TrainConfig

        docs = cli.field_docs(TrainConfig)
        for name, extra in BY_HAND.items():
            choices = {"choices": ARCHITECTURES} if name == "arch" else {}
            parser.add_argument(cli.flag_name(name), dest=name, help=docs[name], **choices, **extra)
        cli.add_config_arguments(parser, {"train_classifier": TrainConfig}, skip=tuple(BY_HAND))
        parser.add_argument("--no-augment", action="store_true", help="Same as --augment none.")
        parser.add_argument("--name", help="Run name (folder under var/models/classification/); default ARCH-TIME.")
        parser.add_argument("--activate", action="store_true", help="Make the new model the active one of its slot.")
        training.add_training_arguments(parser)

    def handle(self, *args, **options):
        from classifier import register
        from classifier.train import train

        config = _config(options)
        options = {**options, **asdict(config)}  # the run records (and resumes by) the values it trains with
        name = options["name"] or f"{config.arch}-{time.strftime('%Y%m%d-%H%M%S')}"
        default_dir = Path(settings.MODELS_DIR) / "classification" / name
        if training.is_chief() and (default_dir / "model.keras").exists():
            raise CommandError(f"{default_dir} already holds a model; choose another --name.")
        with training.start_run("train_classifier", options, task="classification", architecture=config.arch,
                                stdout=self.stdout) as run:
            try:
                result = train(config, run.output_dir(default_dir), run.hooks())
            except (ValueError, FileNotFoundError) as exc:  # DataError is a ValueError
                raise CommandError(str(exc)) from exc
            record = register.register(result, config, run, activate=options["activate"])
        if record is None:
            self.stdout.write("This worker's part is done; the chief saves and registers the model.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Model #{record.pk} ({config.arch}) saved in {result.model_path}"
            f"{' and activated' if record.active else ''}; learning curves: {result.curves_path}"
        ))
        for key, value in result.metrics.items():
            self.stdout.write(f"  {key}: {value:.4f}")


def _config(options):
    """The TrainConfig of the parsed flags, its paths resolved and checked (CommandError)."""
    from classifier.train import TrainConfig

    data = Path(options["data"]).expanduser().resolve()
    if not data.is_dir():
        raise CommandError(f"No data folder at {data}. Make one with: python manage.py make_demo_data "
                           "classification, or fetch Caltech-101: python manage.py fetch_dataset caltech101")
    given = {**options, "data": str(data)}
    if options["no_augment"]:
        if options["augment"] not in (None, "none"):
            raise CommandError("--no-augment and --augment disagree: use one of them.")
        given["augment"] = "none"
    if options["weights"] not in (None, "none", "imagenet"):
        path = Path(options["weights"]).expanduser()
        if not path.is_file():
            raise CommandError(f"--weights is none, imagenet or a weights file; no file at {path}.")
        given["weights"] = str(path.resolve())
    if options["self_training"] is not None:
        unlabelled = Path(options["self_training"]).expanduser().resolve()
        if not unlabelled.is_dir():
            raise CommandError(f"No unlabelled folder at {unlabelled}.")
        given["self_training"] = str(unlabelled)
    try:
        return cli.config_from_options(TrainConfig, given)
    except ValueError as exc:  # TrainConfig refuses settings no run can use
        raise CommandError(str(exc)) from exc
