"""Service: the active tic-tac-toe agent, loaded once per process, and its decisions as plain data.

The site plays the active model of the ("tictactoe", "dqn") slot. A tabular Q-learning agent
(architecture "qlearning") loads the same way, for `evaluate_tictactoe --arch qlearning`.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from deepboot_site import registry

from . import engine

TASK = "tictactoe"
ARCHITECTURE = "dqn"


class Agent:
    """A Q-function over boards, played greedily: `q_function(boards) -> (n, 9)`."""

    def __init__(self, q_function: Callable):
        self.q_function = q_function

    def q_row(self, board):
        return np.asarray(self.q_function([board]), dtype=np.float64)[0]

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


LOADERS = {"dqn": load_dqn, "qlearning": load_qtable}


@dataclass(frozen=True)
class ActiveAgent:
    model_id: int
    architecture: str
    agent: Agent


def active_agent(architecture=ARCHITECTURE) -> ActiveAgent:
    """The slot's active agent (cached per process); raises registry.ModelUnavailable."""
    loaded = registry.load_active(TASK, architecture, loader=LOADERS[architecture])
    return ActiveAgent(model_id=loaded.record.pk, architecture=architecture, agent=loaded.model)
