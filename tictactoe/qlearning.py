"""Tabular Q-learning, the book's first learner: one table entry per position, read top to bottom.

The agent plays X and O against a mix of opponents (uniformly random, or the perfect minimax player
in `minimax_share` of the games) and learns from sampled transitions:

    Q(s, a) <- Q(s, a) + alpha * (r + max_a' Q(s'', a') - Q(s, a))

where s'' is the next position where the agent is to move (after the opponent's reply), r is +1 for
a win, 0 for a draw, -1 for a loss, and there is no bootstrap after the last move (gamma = 1). The
eight symmetries of the board share one entry: positions are stored in a canonical orientation.
No neural network and no teacher: the minimax games alone teach it to defend.
"""

import json
import random
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from deepboot.hooks import TrainHooks, linear_schedule

from . import engine, evaluate
from .checkpoints import judge, report


@dataclass(frozen=True)
class QLearningConfig:
    """Hyper-parameters of one tabular Q-learning run."""

    seed: int = 1
    """Seeds the games: one seed, one table."""
    episodes: int = 50_000
    """Games played (half as X, half as O)."""
    alpha: float = 0.2
    """Learning rate of the table update."""
    start_epsilon: float = 1.0
    """Exploration at the start (probability of a random move)."""
    end_epsilon: float = 0.05
    """Exploration at the end of the schedule."""
    exploration_fraction: float = 0.6
    """Share of the episodes over which epsilon falls linearly."""
    minimax_share: float = 0.3
    """Share of the games played against the perfect player instead of the random one."""
    eval_every: int = 5_000
    """Episodes between exact evaluations."""
    eval_games: int = 10_000
    """Games per side against a random player in the final evaluation of the saved agent."""


@lru_cache(maxsize=None)
def canonical(board):
    """(canonical board, symmetry) with canonical == engine.transform(board, symmetry)."""
    return min((engine.transform(board, perm), perm) for perm in engine.SYMMETRIES)


class QTable:
    """Q-values per canonical position; unseen positions are worth 0 for every move."""

    def __init__(self, values=None):
        self.values = values if values is not None else {}

    def _row(self, key):
        row = self.values.get(key)
        if row is None:
            row = self.values[key] = np.zeros(9, dtype=np.float64)
        return row

    def q_values(self, board):
        """(9,) Q-values of `board` in its own orientation."""
        key, perm = canonical(board)
        row = self.values.get(key)
        if row is None:
            return np.zeros(9)
        return np.array([row[engine.transform_cell(c, perm)] for c in range(9)])

    def update(self, board, cell, target, alpha):
        key, perm = canonical(board)
        row = self._row(key)
        c = engine.transform_cell(cell, perm)
        row[c] += alpha * (target - row[c])

    def best_value(self, board):
        legal = engine.legal_moves(board)
        q = self.q_values(board)
        return max(q[c] for c in legal)

    def choose(self, board):
        q = self.q_values(board)
        return max(engine.legal_moves(board), key=lambda c: (q[c], -c))

    def q_function(self, boards):
        """`boards -> (n, 9)` as the evaluation and the site expect."""
        return np.array([self.q_values(b) for b in boards], dtype=np.float32).reshape(-1, 9)

    def save(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {key: [round(float(v), 6) for v in row] for key, row in sorted(self.values.items())}
        path.write_text(json.dumps({"format": "deepboot-tictactoe-qtable-1", "values": data}))
        return path

    @classmethod
    def load(cls, path):
        data = json.loads(Path(path).read_text())
        if data.get("format") != "deepboot-tictactoe-qtable-1":
            raise ValueError(f"{path} is not a tic-tac-toe Q-table")
        return cls({key: np.array(row, dtype=np.float64) for key, row in data["values"].items()})


@dataclass
class Learned:
    """What a Q-learning run hands back: the table and its evaluations."""

    table: QTable
    history: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self):
        return {"seconds": round(self.seconds, 1), "positions": len(self.table.values),
                "history": [asdict(c) for c in self.history]}


def train(config: QLearningConfig, hooks: TrainHooks = TrainHooks(), on_episode: Optional[Callable[[int, dict], None]] = None):
    """Learn the table; each evaluation is said and recorded (`hooks.say`, `hooks.log_epoch`);
    on_episode(episode, {"epsilon"}) after each game (a progress bar). Seeded by its own
    random.Random(config.seed) alone (no Keras here, so no `seed_everything`); it does not resume
    (a run takes seconds)."""
    rng = random.Random(config.seed)
    table = QTable()
    started = time.monotonic()
    result = Learned(table=table)
    exploration_episodes = int(config.exploration_fraction * config.episodes)
    for episode in range(config.episodes):
        hooks.safe_point()  # a stop (SIGTERM, Ctrl-C) ends the run here, between two games
        epsilon = linear_schedule(config.start_epsilon, config.end_epsilon, exploration_episodes, episode)
        agent = "X" if episode % 2 == 0 else "O"
        perfect_opponent = rng.random() < config.minimax_share

        board = engine.EMPTY_BOARD
        previous = None  # (board, cell) of the agent's last move, waiting for its target
        while not engine.is_over(board):
            if engine.to_move(board) == agent:
                if previous is not None:
                    # The opponent replied and the game goes on: bootstrap from this position.
                    table.update(*previous, table.best_value(board), config.alpha)
                legal = engine.legal_moves(board)
                cell = rng.choice(legal) if rng.random() < epsilon else table.choose(board)
                previous = (board, cell)
            elif perfect_opponent:
                cell = rng.choice(engine.best_moves(board))
            else:
                cell = rng.choice(engine.legal_moves(board))
            board = engine.play(board, cell)
        reward = {"win": 1.0, "draw": 0.0, "loss": -1.0}[evaluate.result_for(board, agent)]
        table.update(*previous, reward, config.alpha)

        if on_episode is not None:
            on_episode(episode + 1, {"epsilon": epsilon})
        if (episode + 1) % config.eval_every == 0 or episode + 1 == config.episodes:
            checkpoint = judge(table.q_function, episode=episode + 1, seconds=time.monotonic() - started, epsilon=epsilon)
            result.history.append(checkpoint)
            report(hooks, checkpoint)
    result.seconds = time.monotonic() - started
    return result
