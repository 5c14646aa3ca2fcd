"""Boards as arrays: the network's input encoding and a table of every position (NumPy, no Keras).

The learners see a board from the side to move: 18 numbers, nine for "my marks" and nine for
"their marks", so one network plays X and O. `PositionTable` numbers the 5,478 legal positions
and precomputes, for every (position, move), what follows it when a uniformly random opponent
replies: dqn-teacher's targets are array lookups on it (the model-free DQN never uses it: it is a
model of the game, built with the minimax solver).
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import engine

INPUT_SIZE = 18
MAX_REPLIES = 8


def encode(boards):
    """(n, 18) float32: for each board, [my marks (9), their marks (9)] for the side to move."""
    out = np.zeros((len(boards), INPUT_SIZE), dtype=np.float32)
    for row, board in enumerate(boards):
        me = engine.to_move(board)
        for cell, mark in enumerate(board):
            if mark == me:
                out[row, cell] = 1.0
            elif mark != ".":
                out[row, 9 + cell] = 1.0
    return out


def legal_mask(boards):
    """(n, 9) bool: True where the side to move may play."""
    mask = np.zeros((len(boards), 9), dtype=bool)
    for row, board in enumerate(boards):
        mask[row, engine.legal_moves(board)] = True
    return mask


def greedy_move(q_row, board):
    """The legal cell with the highest value (the lowest cell on a tie): the agent's policy."""
    legal = engine.legal_moves(board)
    if not legal:
        raise engine.IllegalMove("the game is over")
    return max(legal, key=lambda cell: (float(q_row[cell]), -cell))


@dataclass(frozen=True)
class PositionTable:
    """Every legal position, numbered, with what follows each move against a random opponent.

    boards:        list of N board strings (index = position id)
    index:         {board: id}
    features:      (N, 18) float32 network inputs
    legal:         (N, 9) bool legal moves (all False where the game is over)
    after_reward:  (N, 9) float32 reward of a move that ends the game (+1 win, 0 draw), NaN otherwise
    reply_ids:     (N, 9, 8) int32 ids of the positions after each opponent reply, -1 if none
    reply_reward:  (N, 9, 8) float32 reward when that reply ends the game (-1 loss, 0 draw), NaN otherwise
    reply_count:   (N, 9) int32 number of opponent replies (0 where the move ends the game)
    unsafe:        (N, 9) bool moves after which a perfect opponent can force a win (the minimax solver)
    symmetric_ids: (N, 8) int32 id of each position under each of engine.SYMMETRIES
    symmetric_cells: (8, 9) int32 where each cell goes under each symmetry
    """

    boards: list
    index: dict
    features: np.ndarray
    legal: np.ndarray
    after_reward: np.ndarray
    reply_ids: np.ndarray
    reply_reward: np.ndarray
    reply_count: np.ndarray
    unsafe: np.ndarray
    symmetric_ids: np.ndarray
    symmetric_cells: np.ndarray

    @property
    def size(self):
        return len(self.boards)

    def ids(self, boards):
        return np.array([self.index[b] for b in boards], dtype=np.int32)

    def bellman_targets(self, next_q, unsafe_penalty):
        """(N, 9) targets for every (position, move) given the next positions' Q-values.

        y(s, a) = the reward if `a` ends the game; otherwise the mean, over the random
        opponent's replies, of -1/0 if the reply ends it or else max_a' next_q(s'', a') clipped
        to [-1, 1]; minus `unsafe_penalty` where the minimax teacher proves `a` loses.
        NaN for illegal moves.
        """
        best_next = np.where(self.legal, next_q, -np.inf).max(axis=1)
        best_next = np.clip(np.where(np.isfinite(best_next), best_next, 0.0), -1.0, 1.0)
        safe_ids = np.maximum(self.reply_ids, 0)
        reply_value = np.where(np.isnan(self.reply_reward), best_next[safe_ids], self.reply_reward)
        reply_value = np.where(self.reply_ids >= 0, reply_value, 0.0)
        counts = np.maximum(self.reply_count, 1)
        expected = reply_value.sum(axis=2) / counts
        targets = np.where(np.isnan(self.after_reward), expected, self.after_reward)
        targets = targets - unsafe_penalty * self.unsafe
        return np.where(self.legal, targets, np.nan).astype(np.float32)


@lru_cache(maxsize=1)
def position_table():
    """The table, built once per process (about a second)."""
    boards = engine.all_positions()
    index = {b: i for i, b in enumerate(boards)}
    n = len(boards)
    after_reward = np.full((n, 9), np.nan, dtype=np.float32)
    reply_ids = np.full((n, 9, MAX_REPLIES), -1, dtype=np.int32)
    reply_reward = np.full((n, 9, MAX_REPLIES), np.nan, dtype=np.float32)
    reply_count = np.zeros((n, 9), dtype=np.int32)
    unsafe = np.zeros((n, 9), dtype=bool)
    for i, board in enumerate(boards):
        values = engine.move_values(board)
        for move, value in values.items():
            unsafe[i, move] = value < 0
            after = engine.play(board, move)
            if engine.is_over(after):
                after_reward[i, move] = 1.0 if engine.winner(after) else 0.0
                continue
            replies = engine.legal_moves(after)
            reply_count[i, move] = len(replies)
            for k, reply in enumerate(replies):
                nxt = engine.play(after, reply)
                reply_ids[i, move, k] = index[nxt]
                if engine.is_over(nxt):
                    reply_reward[i, move, k] = -1.0 if engine.winner(nxt) else 0.0
    symmetric_ids = np.array(
        [[index[engine.transform(b, perm)] for perm in engine.SYMMETRIES] for b in boards], dtype=np.int32
    )
    symmetric_cells = np.array(
        [[engine.transform_cell(c, perm) for c in range(9)] for perm in engine.SYMMETRIES], dtype=np.int32
    )
    return PositionTable(
        boards=boards,
        index=index,
        features=encode(boards),
        legal=legal_mask(boards),
        after_reward=after_reward,
        reply_ids=reply_ids,
        reply_reward=reply_reward,
        reply_count=reply_count,
        unsafe=unsafe,
        symmetric_ids=symmetric_ids,
        symmetric_cells=symmetric_cells,
    )
