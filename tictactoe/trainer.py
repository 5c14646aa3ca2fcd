"""Service behind `train_tictactoe`: train an agent, save it with its learning curve, reload the
saved file and evaluate it. No registry here: the command records the result."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from . import dqn, evaluation, plots, qlearning

ALGORITHMS = ("dqn", "qlearning")
PREPROCESSING = "board from the side to move: 9 cells 'mine' + 9 cells 'theirs' (positions.encode)"
DATASETS = {
    "dqn": "self-generated games vs a uniformly random opponent; minimax teacher penalises losing moves",
    "qlearning": "self-generated games vs a random opponent and the minimax player",
}


def make_config(algo, **overrides):
    """The frozen config of `algo` with the given fields (None = the default)."""
    cls = dqn.DQNConfig if algo == "dqn" else qlearning.QLearningConfig
    fields = set(cls.__dataclass_fields__)
    return cls(**{k: v for k, v in overrides.items() if v is not None and k in fields})


@dataclass
class Trained:
    algo: str
    config: object
    path: Path
    curves: Path
    report_path: Path
    report: evaluation.Report
    parameters: int
    layers: int
    summary: dict


def train_and_save(
    algo,
    config,
    out_dir,
    *,
    eval_games=10_000,
    jit_compile=False,
    scope: Optional[Callable] = None,
    resume_dir=None,
    on_episode=None,
    on_checkpoint=None,
):
    """Train, save the agent and its curve in `out_dir`, then evaluate the saved file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if algo == "dqn":
        result = dqn.train(
            config,
            jit_compile=jit_compile,
            scope=scope,
            resume_dir=resume_dir,
            on_episode=on_episode,
            on_checkpoint=on_checkpoint,
        )
        path = dqn.save(result.model, out_dir / "dqn.keras")
        q_function = dqn.q_function(dqn.load(path))
        parameters, layers = result.model.count_params(), 3
    elif algo == "qlearning":
        result = qlearning.train(config, on_episode=on_episode, on_checkpoint=on_checkpoint)
        path = result.table.save(out_dir / "qtable.json")
        q_function = qlearning.QTable.load(path).q_function
        parameters, layers = 9 * len(result.table.values), 0
    else:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")
    limits = evaluation.limit_win_rates()
    title = f"{algo} seed {config.seed}: exact evaluation during training"
    curves = plots.learning_curve(result.history, limits, out_dir / "curves.png", title)
    report = evaluation.evaluate(q_function, games=eval_games)
    report_path = out_dir / "evaluation.json"
    report_path.write_text(json.dumps(report.to_dict(), indent=2))
    summary = {"algorithm": algo, "config": asdict(config), **result.summary()}
    return Trained(algo, config, path, curves, report_path, report, parameters, layers, summary)
