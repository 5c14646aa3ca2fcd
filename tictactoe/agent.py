"""The agent as the site plays it: a Q-function over boards, played greedily, with the network's
values for every position computed once when it loads (`Agent`), and the loaders that make one
from a registered file (`LOADERS`, by architecture)."""

from typing import Callable, Optional

import numpy as np

from . import engine
from .evaluate import positions_to_move
from .positions import greedy_move


class Agent:
    """A Q-function over boards, played greedily: `q_function(boards) -> (n, 9)`.

    The function's rows for every position with a move to make (4,520 boards) are computed once,
    in one batch, when the agent is built: a move is then a dictionary lookup of the network's own
    outputs instead of a Keras call of some 15 ms. The values are the same network's; nothing else
    decides."""

    def __init__(self, q_function: Callable):
        self.q_function = q_function
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
        return None if engine.is_over(board) else self._shown(self.q_row(board), board)

    def choose(self, board):
        """(cell, q_values) of the greedy move for the side to move."""
        row = self.q_row(board)
        return greedy_move(row, board), self._shown(row, board)

    @staticmethod
    def _shown(row, board):
        return [round(float(row[c]), 4) if board[c] == "." else None for c in range(9)]


def load_dqn(path):
    from . import networks

    return Agent(networks.q_function(networks.load_model(path)))


def load_qtable(path):
    from .qlearning import QTable

    return Agent(QTable.load(path).q_function)


LOADERS = {"dqn": load_dqn, "dqn-teacher": load_dqn, "qlearning": load_qtable}
