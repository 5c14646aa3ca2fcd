"""Service: the active tic-tac-toe agent, loaded once per process, and its decisions as plain data.

The site plays the active model of the ("tictactoe", "dqn") slot. The agents the site does not
serve (architectures "dqn-teacher" and "qlearning") load the same way for `evaluate_tictactoe
--arch ...`; with none of them active, `agent_to_evaluate` takes the newest one registered.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from registry import registry

from . import engine

TASK = "tictactoe"
ARCHITECTURE = "dqn"


class Agent:
    """A Q-function over boards, played greedily: `q_function(boards) -> (n, 9)`.

    The function's rows for every position with a move to make (4,520 boards) are computed once,
    in one batch, when the agent is built: a move is then a dictionary lookup of the network's own
    outputs instead of a Keras call of some 15 ms. The values are the same network's; nothing else
    decides."""

    def __init__(self, q_function: Callable):
        self.q_function = q_function
        from .evaluation import positions_to_move

        boards = positions_to_move()
        rows = np.asarray(q_function(list(boards)), dtype=np.float64)
        self._rows = dict(zip(boards, rows))

    def q_row(self, board):
        row = self._rows.get(board)
        if row is None:  # not reachable from the empty board (a test's hand-made position)
            row = np.asarray(self.q_function([board]), dtype=np.float64)[0]
        return row

    def q_values(self, board) -> Optional[list]:
        """Nine numbers for the side to move (None on occupied cells); None once the game is over."""
        if engine.is_over(board):
            return None
        row = self.q_row(board)
        return [round(float(row[c]), 4) if board[c] == "." else None for c in range(9)]

    def choose(self, board):
        """(cell, q_values) of the greedy move for the side to move."""
        from .positions import greedy_move

        row = self.q_row(board)
        values = [round(float(row[c]), 4) if board[c] == "." else None for c in range(9)]
        return greedy_move(row, board), values


def load_dqn(path):
    from . import dqn

    return Agent(dqn.q_function(dqn.load(path)))


def load_qtable(path):
    from .qlearning import QTable

    return Agent(QTable.load(path).q_function)


LOADERS = {"dqn": load_dqn, "dqn-teacher": load_dqn, "qlearning": load_qtable}


@dataclass(frozen=True)
class ActiveAgent:
    model_id: int
    architecture: str
    agent: Agent


def active_agent(architecture=ARCHITECTURE) -> ActiveAgent:
    """The slot's active agent (cached per process); raises registry.ModelUnavailable."""
    loaded = registry.load_active(TASK, architecture, loader=LOADERS[architecture])
    return ActiveAgent(model_id=loaded.record.pk, architecture=architecture, agent=loaded.model)


def agent_to_evaluate(architecture=ARCHITECTURE) -> ActiveAgent:
    """The slot's active agent; for an architecture the site does not serve, with none active, the
    newest one registered (they are registered inactive). Raises registry.ModelUnavailable."""
    from registry.models import TrainedModel

    if architecture == ARCHITECTURE or registry.active_record(TASK, architecture) is not None:
        return active_agent(architecture)
    record = TrainedModel.objects.filter(task=TASK, architecture=architecture).order_by("-id").first()
    if record is None:
        raise registry.ModelUnavailable(
            f"No {TASK} model '{architecture}' is registered. Run: python manage.py train_tictactoe --algo {architecture}"
        )
    path = registry.absolute_path(record.path)
    try:
        loaded = LOADERS[architecture](path)
    except (OSError, ValueError, KeyError) as exc:
        raise registry.ModelUnavailable(f"Model #{record.pk} ({path.name}) could not be loaded ({exc.__class__.__name__}).") from exc
    return ActiveAgent(model_id=record.pk, architecture=architecture, agent=loaded)
