"""A trained tic-tac-toe agent (train.TrainResult) made a registry entry of its training run: the
only training-side module that touches the registry."""


from . import evaluate
from .train import PREPROCESSING, dataset_of


def register(result, run, activate=False):
    """Record the run's files, register the agent under ("tictactoe", its algorithm) with its
    evaluation as metrics, and link the run to it. Returns the TrainedModel; None on a worker of
    a multi-worker run that is not the chief (the chief keeps and registers the agent)."""
    if not run.is_chief:  # the fields below read the chief's files
        return None
    return run.register(
        "tictactoe",
        result.algo,
        result.path,
        artefacts={"model": result.path, "curves": result.curves, "evaluation": result.report_path},
        activate=activate,
        input_size=[18],
        preprocessing=PREPROCESSING,
        layers=result.layers,
        parameters=result.parameters,
        dataset=dataset_of(result.config),
        metrics=evaluate.metrics_of(result.report),
        training_run={**run.summary(), **result.summary},
    )
