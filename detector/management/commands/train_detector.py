"""train_detector --data DIR: train a YOLO detector on a VOC folder and register it."""

import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry import registry, training


class Command(BaseCommand):
    help = (
        "Train a YOLO detector (tiny or the 26-layer yolo26) on a PASCAL VOC folder, with validation "
        "mAP after each epoch, checkpoints and learning curves; evaluate it on the test split and "
        "record it in the model registry."
    )

    def add_arguments(self, parser):
        from detector.train import TrainConfig

        defaults = TrainConfig(data="")
        parser.add_argument("--data", required=True, type=Path, help="VOC folder: JPEGImages/, Annotations/, "
                            "optional ImageSets/Main/{train,val,test}.txt.")
        parser.add_argument("--variant", choices=("yolo26", "tiny"), default=defaults.variant,
                            help="Network (default tiny).")
        parser.add_argument("--epochs", type=int, default=defaults.epochs,
                            help=f"The most epochs; training stops earlier when the validation mAP stops improving "
                            f"(--patience). Default {defaults.epochs}.")
        parser.add_argument("--patience", type=int, default=defaults.patience,
                            help=f"Stop after this many epochs without a better validation mAP (0: never); the best "
                            f"epoch is kept. Default {defaults.patience}.")
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                            help=f"Images per step and replica (default {defaults.batch_size}).")
        parser.add_argument("--image-size", type=int, default=None,
                            help="Square input side (default 96 for tiny, 448 for yolo26).")
        parser.add_argument("--grid", type=int, default=None, help="Grid cells per side (default size/8 for tiny, 7).")
        parser.add_argument("--lr", type=float, default=defaults.lr, help=f"Peak learning rate (default {defaults.lr}).")
        parser.add_argument("--seed", type=int, default=defaults.seed, help="Random seed (default 0).")
        parser.add_argument("--no-augment", action="store_true", help="Train without augmentation.")
        parser.add_argument("--activate", action="store_true", help="Make the new model the active one of its slot.")
        training.add_training_arguments(parser)

    def handle(self, *args, **options):
        from detector import voc
        from detector.train import TrainConfig, evaluate_model, measure_latency, train
        from detector.data import DetectionData
        from detector.metrics import plot_precision_recall

        data = Path(options["data"]).expanduser().resolve()
        for name in ("epochs", "batch_size"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        if options["patience"] < 0:
            raise CommandError("--patience must be 0 or more.")
        if not 0 < options["lr"] < 1:
            raise CommandError("--lr must be between 0 and 1.")
        try:
            voc.check_layout(data)
        except voc.VocError as exc:
            raise CommandError(str(exc)) from exc
        config = TrainConfig(
            data=str(data), variant=options["variant"], epochs=options["epochs"], batch_size=options["batch_size"],
            image_size=options["image_size"], grid=options["grid"], lr=options["lr"], seed=options["seed"],
            augment=not options["no_augment"], patience=options["patience"],
        )
        try:
            config = config.resolved()
            if config.variant == "tiny":
                # build_tiny's size / grid check, without building: TensorFlow must not start before
                # the run picks its strategy (MultiWorkerMirroredStrategy configures it at startup).
                stride = config.image_size // config.grid
                if config.image_size % config.grid or stride < 2 or stride & (stride - 1):
                    raise ValueError(
                        f"tiny needs image_size / grid to be a power of two, not {config.image_size}/{config.grid}"
                    )
            elif config.image_size % 64:
                raise ValueError(f"yolo26 needs an image size that is a multiple of 64, not {config.image_size}")
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        out_dir = Path(settings.MODELS_DIR) / "detection" / f"{config.variant}-{stamp}-seed{config.seed}"
        if not training.is_chief():  # another worker of a multi-worker run: it trains, the chief keeps
            out_dir = Path(tempfile.mkdtemp(prefix="deepboot-worker-"))
        started = time.monotonic()
        with training.start_run("train_detector", options, task="detection", architecture=config.variant,
                                stdout=self.stdout) as run:
            out_dir = run.output_dir(out_dir)
            try:
                result = train(config, out_dir, strategy=run.strategy, jit=run.jit, callbacks=run.callbacks,
                               stdout=self.stdout, verbose=run.verbose, earlier=run.earlier_epochs)
            except voc.VocError as exc:
                raise CommandError(str(exc)) from exc
            if not run.is_chief:
                shutil.rmtree(out_dir, ignore_errors=True)
                self.stdout.write("This worker's part is done; the chief saves and registers the model.")
                return
            run.add_artifact("model", result.model_path)
            run.add_artifact("curves", result.curves_path)
            self.stdout.write(
                f"Trained in {result.seconds:.1f}s ({result.extra['cpu_seconds']:.0f} CPU-seconds); best validation mAP@0.5 {result.val_map50:.4f} "
                f"(epoch {result.best_epoch}). Model: {result.model_path}\nCurves: {result.curves_path}"
            )

            from detector.train import load_model

            model = load_model(result.model_path)  # the best epoch, as it will be served
            metrics = {"val_map50": round(result.val_map50, 4), "best_epoch": result.best_epoch,
                       "train_seconds": round(result.seconds, 1),
                       "train_cpu_seconds": round(result.extra["cpu_seconds"], 1), "epochs": config.epochs,
                       "epochs_run": result.extra["epochs_run"]}
            try:
                test = DetectionData.load(data, "test", class_names=result.class_names)
            except voc.VocError as exc:
                self.stdout.write(f"No test split to evaluate on ({exc}); the registry keeps the validation mAP.")
                metrics["map50"] = metrics["val_map50"]
            else:
                examples_path = out_dir / "detections_test.png"
                map50, per_class, n_images = evaluate_model(model, test, result.class_names,
                                                            examples_png=examples_path)
                run.add_artifact("detections", examples_path)
                pr_path = plot_precision_recall(per_class, out_dir / "pr_test.png",
                                                f"{config.variant}, test split: mAP@0.5 {map50:.3f}")
                run.add_artifact("pr_curves", pr_path)
                metrics.update({
                    "map50": round(map50, 4), "test_map50": round(map50, 4), "n_test_images": n_images,
                    "ap": {name: round(r.ap, 4) for name, r in per_class.items()},
                })
                self.stdout.write(f"Test split: mAP@0.5 {map50:.4f} on {n_images} images; PR curves: {pr_path}; "
                                  f"boxes on test images: {examples_path}")
                for name, r in per_class.items():
                    self.stdout.write(f"  {name:>14}: AP {r.ap:.4f} ({r.n_ground_truth} objects)")
                if n_images:
                    metrics["latency_ms"] = round(measure_latency(model, test.image(0), result.class_names), 2)
            record = registry.register(
                "detection", config.variant, result.model_path, activate=options["activate"],
                class_names=result.class_names, input_size=[config.image_size, config.image_size],
                preprocessing="rescale (1/255, inside the model)", layers=result.layers,
                parameters=result.parameters, dataset=f"{data.name} ({result.n_train} train / {result.n_val} val)",
                metrics=metrics,
                training_run={
                    **run.summary(), "data": str(data), "split": result.split, "image_size": config.image_size,
                    "grid": config.grid, "boxes": config.boxes, "n_train": result.n_train, "n_val": result.n_val,
                    "history": result.history, "curves": str(result.curves_path), "config": result.extra["config"],
                    "val_ids_carved": result.extra["val_ids_carved"],
                },
            )
            run.set_model(record)
        state = "active" if record.active else "not active (use --activate or manage.py activate_model)"
        self.stdout.write(self.style.SUCCESS(
            f"Registered model #{record.pk} detection/{config.variant}, {state}: mAP@0.5 {metrics['map50']:.4f}; "
            f"{time.monotonic() - started:.1f}s in all."
        ))
