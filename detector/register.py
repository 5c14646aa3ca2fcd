"""A trained detector into the model registry: the run's folder, its artefacts, and the registry
entry made of the TrainResult (detector/train.py) and its test-split Evaluation
(detector/evaluate.py). The one training-side module of the app that touches the registry."""

from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .service import TASK

PREPROCESSING = "rescale (1/255, inside the model)"


def output_folder(config):
    """Where a new run of `config` writes: var/models/detection/<variant>-<time>-seed<S>/."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return Path(settings.MODELS_DIR) / TASK / f"{config.variant}-{stamp}-seed{config.seed}"


def metrics_of(config, result, evaluation):
    """The registry's metrics: the test split's mAP@0.5 as `map50` (the validation mAP when the
    folder has no test split), per-class AP and the serving latency."""
    metrics = {"val_map50": round(result.val_map50, 4), "best_epoch": result.best_epoch,
               "train_seconds": round(result.seconds, 1),
               "train_cpu_seconds": round(result.extra["cpu_seconds"], 1), "epochs": config.epochs,
               "epochs_run": result.extra["epochs_run"]}
    if evaluation is None:
        return {**metrics, "map50": metrics["val_map50"]}
    metrics.update({
        "map50": round(evaluation.map50, 4), "test_map50": round(evaluation.map50, 4),
        "n_test_images": evaluation.n_images,
        "ap": {name: round(r.ap, 4) for name, r in evaluation.per_class.items()},
    })
    if evaluation.latency_ms is not None:
        metrics["latency_ms"] = round(evaluation.latency_ms, 2)
    return metrics


def register_detector(run, config, result, evaluation, *, activate):
    """Record the run's artefacts and register the kept model (a resolved `config`); the entry
    keeps the run's summary, the split and the history. Returns the TrainedModel."""
    artefacts = {"model": result.model_path, "curves": result.curves_path}
    if evaluation is not None:
        artefacts.update(detections=evaluation.detections_png, pr_curves=evaluation.pr_png,
                         evaluation=evaluation.report_json)
    return run.register(
        TASK, config.variant, result.model_path, artefacts=artefacts, activate=activate,
        class_names=result.class_names, input_size=[config.image_size, config.image_size],
        preprocessing=PREPROCESSING, layers=result.layers, parameters=result.parameters,
        dataset=f"{Path(config.data).name} ({result.n_train} train / {result.n_val} val)",
        metrics=metrics_of(config, result, evaluation),
        training_run={
            **run.summary(), "data": config.data, "split": result.split, "image_size": config.image_size,
            "grid": config.grid, "boxes": config.boxes, "n_train": result.n_train, "n_val": result.n_val,
            "history": result.history, "curves": str(result.curves_path), "config": result.extra["config"],
            "val_ids_carved": result.extra["val_ids_carved"],
        },
    )
