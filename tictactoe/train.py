"""Train a tic-tac-toe agent, the trainer contract every app shares (deepboot/hooks.py):

    result = train(config, out_dir, hooks=TrainHooks())      # -> TrainResult

The learner is chosen by the config's type: DQNConfig -> `dqn.py` (the model-free DQN),
TeacherConfig -> `dqn_teacher.py` (a distillation), QLearningConfig -> `qlearning.py` (a table).
It trains, saves the agent (dqn.keras or qtable.json) and its learning curve (curves.png) in
`out_dir`, reloads the saved file and evaluates it (`config.eval_games` games per side, and the
exact checks) into evaluation.json. No registry and no Django here: `register.py` records the
result.

From `hooks` the learners take `scope()` and `jit` (building the networks), `resume_dir` (the
state a killed run resumes from), `say` and `log_epoch` (each evaluation, printed and recorded as
the run's epoch at its episode), `safe_point()` (where a stop, held by the run, may end it:
between two games), and one extra, for a progress display:

    hooks.extra["on_episode"]: on_episode(episode, {"epsilon", "loss"}) after each game (optional).
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from deepboot.hooks import TrainHooks

from . import checkpoints, dqn, dqn_teacher, evaluate, networks, plots, qlearning

# Each learner and its config dataclass (the command's flags are generated from these).
CONFIGS = {"dqn": dqn.DQNConfig, "dqn-teacher": dqn_teacher.TeacherConfig, "qlearning": qlearning.QLearningConfig}
ALGORITHMS = tuple(CONFIGS)
PREPROCESSING = "board from the side to move: 9 cells 'mine' + 9 cells 'theirs' (positions.encode)"


def algorithm_of(config):
    """The learner's name ("dqn", "dqn-teacher", "qlearning") for a config of its type."""
    for algo, cls in CONFIGS.items():
        if type(config) is cls:
            return algo
    raise TypeError(f"no tic-tac-toe learner takes a {type(config).__name__}; use one of {', '.join(c.__name__ for c in CONFIGS.values())}")


def dataset_of(config):
    """What the learner learned from, in words (the registry's `dataset`)."""
    algo = algorithm_of(config)
    if algo == "dqn":
        return (
            f"model-free: sampled transitions of its own games (opponent: {config.opponent}), "
            "reward +1/0/-1 at the end; no solver, table or expectation in its targets"
        )
    if algo == "dqn-teacher":
        return "distillation: exact expected scores vs a random opponent from the position table, minus the minimax solver's penalty for losing moves"
    return "tabular Q-learning on sampled games vs a random opponent and the minimax player"


@dataclass
class TrainResult:
    """A trained agent's files, its evaluation and what a registry entry keeps of its run."""

    algo: str
    config: object
    path: Path
    curves: Path
    report_path: Path
    report: evaluate.Report
    parameters: int
    layers: int
    summary: dict


def train(config, out_dir, hooks=TrainHooks()) -> TrainResult:
    """Train the learner of `config`, save the agent and its curve in `out_dir`, then evaluate the
    saved file (see the module docstring)."""
    algo = algorithm_of(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    on_episode = hooks.extra.get("on_episode")
    if algo == "qlearning":
        learned = qlearning.train(config, hooks, on_episode)
        path = learned.table.save(out_dir / "qtable.json")
        q_function = qlearning.QTable.load(path).q_function
        parameters, layers = 9 * len(learned.table.values), 0
    else:
        learned = (dqn if algo == "dqn" else dqn_teacher).train(config, hooks, on_episode)
        path = networks.save(learned.model, out_dir / "dqn.keras")
        q_function = networks.q_function(networks.load_model(path))
        parameters, layers = learned.model.count_params(), 3
    limits = evaluate.limit_win_rates()
    title = f"{algo} seed {config.seed}: exact evaluation during training"
    if algo == "dqn":
        title = f"dqn (model-free, opponent {config.opponent}) seed {config.seed}: exact evaluation during training"
    curves = plots.learning_curve(learned.history, limits, out_dir / "curves.png", title)
    report = evaluate.evaluate(q_function, games=config.eval_games)
    report_path = out_dir / "evaluation.json"
    report_path.write_text(json.dumps(report.to_dict(), indent=2))
    summary = {"algorithm": algo, "config": asdict(config), **learned.summary()}
    first = checkpoints.first_within_limits(learned.history, limits)  # None: never within the limits
    summary |= {"episodes_to_unbeatable": first and first.episode, "seconds_to_unbeatable": first and round(first.seconds, 1)}
    return TrainResult(algo, config, path, curves, report_path, report, parameters, layers, summary)
