"""Service behind `train_tictactoe`: train an agent, save it with its learning curve, reload the
saved file and evaluate it. No registry here: the command records the result."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from . import dqn, dqn_teacher, evaluation, plots, qlearning

# Each learner and its config dataclass (the command's flags are generated from these).
CONFIGS = {"dqn": dqn.DQNConfig, "dqn-teacher": dqn_teacher.TeacherConfig, "qlearning": qlearning.QLearningConfig}
ALGORITHMS = tuple(CONFIGS)
PREPROCESSING = "board from the side to move: 9 cells 'mine' + 9 cells 'theirs' (positions.encode)"


def dataset_of(algo, config):
    """What the learner learned from, in words (the registry's `dataset`)."""
    if algo == "dqn":
        return (
            f"model-free: sampled transitions of its own games (opponent: {config.opponent}), "
            "reward +1/0/-1 at the end; no solver, table or expectation in its targets"
        )
    if algo == "dqn-teacher":
        return "distillation: exact expected scores vs a random opponent from the position table, minus the minimax solver's penalty for losing moves"
    return "tabular Q-learning on sampled games vs a random opponent and the minimax player"


def make_config(algo, **overrides):
    """The frozen config of `algo` with the given fields (None = the default)."""
    cls = CONFIGS[algo]
    fields = set(cls.__dataclass_fields__)
    return cls(**{k: v for k, v in overrides.items() if v is not None and k in fields})


def first_within_limits(history, limits):
    """(episode, seconds) of the first evaluation with no lost line and both exact win rates within
    one point of the limits, or (None, None)."""
    for c in history:
        if c.lost_lines_x == c.lost_lines_o == 0 and all(
            abs(win - limits[side]) <= 0.01 for side, win in (("X", c.win_x), ("O", c.win_o))
        ):
            return c.episode, c.seconds
    return None, None


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
    if algo in ("dqn", "dqn-teacher"):
        learner = dqn if algo == "dqn" else dqn_teacher
        result = learner.train(
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
    if algo == "dqn":
        title = f"dqn (model-free, opponent {config.opponent}) seed {config.seed}: exact evaluation during training"
    curves = plots.learning_curve(result.history, limits, out_dir / "curves.png", title)
    report = evaluation.evaluate(q_function, games=eval_games)
    report_path = out_dir / "evaluation.json"
    report_path.write_text(json.dumps(report.to_dict(), indent=2))
    summary = {"algorithm": algo, "config": asdict(config), **result.summary()}
    if "episodes_to_unbeatable" not in summary:
        episode, seconds = first_within_limits(result.history, limits)
        summary |= {"episodes_to_unbeatable": episode, "seconds_to_unbeatable": None if seconds is None else round(seconds, 1)}
    return Trained(algo, config, path, curves, report_path, report, parameters, layers, summary)
