"""A finished classifier run into the model registry: the only training-side module that touches
the registry (and so Django). train.py knows nothing of it; train_classifier calls it."""

from pathlib import Path

from registry import registry

from . import networks


def register(result, config, run, *, activate=False):
    """Record `result` (a train.TrainResult of `config`) as a registry entry linked to `run` (a
    registry.training.Run): the run's artefacts, the entry's metrics from the run's own test
    prediction, and what the entry keeps of its training run. Returns the TrainedModel, or None on
    a follower worker of a multi-worker run (the chief registers)."""
    if not run.is_chief:  # the fields below read the chief's files
        return None
    return run.register(
        "classification", config.arch, result.model_path,
        artefacts={"model": result.model_path, "curves": result.curves_path, "split": result.split_path},
        activate=activate,
        class_names=result.class_names,
        input_size=[config.image_size, config.image_size],
        preprocessing=networks.PREPROCESSING[config.arch],
        layers=networks.LAYERS[config.arch],
        parameters=networks.count_parameters(result.model),
        dataset=Path(config.data).name,  # by name: the Models page is public
        metrics={k: round(v, 4) for k, v in result.metrics.items() if isinstance(v, float)},
        training_run={
            **run.summary(),
            "data": str(config.data),
            "split_file": registry.relative_path(result.split_path),
            "curves": registry.relative_path(result.curves_path),
            "report": result.report,
        },
    )
