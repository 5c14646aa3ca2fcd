"""The DQN's experience replay: a ring buffer of transitions, and each sampled transition seen
through a random one of the board's eight symmetries. NumPy arrays throughout, so a run can save
its memory and resume from it (`resume.py`)."""

import numpy as np

from . import engine
from .positions import INPUT_SIZE, encode


class ReplayMemory:
    """A ring buffer of transitions, as arrays.

    state, next_state: (capacity, 18) int8 from the mover's / the next mover's side
    action: (capacity,) int8; reward: (capacity,) float32 (+1 the move won); done: (capacity,) bool
    next_legal: (capacity, 9) bool legal moves in next_state
    and what followed: the reply actually played, then the mover to move again:
    after_reply: (capacity, 18) int8 from the mover's side; after_reply_legal: (capacity, 9) bool
    reply_reward: (capacity,) float32 (-1 the reply won, 0 it drew); reply_done: (capacity,) bool
    """

    FIELDS = ("state", "action", "reward", "next_state", "done", "next_legal",
              "after_reply", "after_reply_legal", "reply_reward", "reply_done")

    def __init__(self, capacity):
        self.capacity = capacity
        self.state = np.zeros((capacity, INPUT_SIZE), dtype=np.int8)
        self.action = np.zeros(capacity, dtype=np.int8)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.next_state = np.zeros((capacity, INPUT_SIZE), dtype=np.int8)
        self.done = np.zeros(capacity, dtype=bool)
        self.next_legal = np.zeros((capacity, 9), dtype=bool)
        self.after_reply = np.zeros((capacity, INPUT_SIZE), dtype=np.int8)
        self.after_reply_legal = np.zeros((capacity, 9), dtype=bool)
        self.reply_reward = np.zeros(capacity, dtype=np.float32)
        self.reply_done = np.zeros(capacity, dtype=bool)
        self.added = 0

    def __len__(self):
        return min(self.added, self.capacity)

    def add(self, board, action, next_board):
        """Store the move `action` from `board` (which led to `next_board`); returns its slot."""
        i = self.added % self.capacity
        self.state[i] = encode([board])[0]
        self.action[i] = action
        self.next_state[i] = encode([next_board])[0]
        self.done[i] = engine.is_over(next_board)
        self.reward[i] = 1.0 if engine.winner(next_board) is not None else 0.0
        self.next_legal[i] = False
        self.next_legal[i, engine.legal_moves(next_board)] = True
        self.reply_done[i] = True  # until a reply is recorded
        self.reply_reward[i] = 0.0
        self.added += 1
        return i

    def add_reply(self, i, board_after_reply):
        """Record, for the transition in slot `i`, the board after the reply that was played."""
        self.after_reply[i] = encode([board_after_reply])[0]
        self.reply_done[i] = engine.is_over(board_after_reply)
        self.reply_reward[i] = -1.0 if engine.winner(board_after_reply) is not None else 0.0
        self.after_reply_legal[i] = False
        self.after_reply_legal[i, engine.legal_moves(board_after_reply)] = True

    def sample(self, rng, size):
        picks = rng.integers(0, len(self), size=size)
        return {name: getattr(self, name)[picks] for name in self.FIELDS}

    def arrays(self):
        return {name: getattr(self, name) for name in self.FIELDS} | {"added": np.array(self.added)}

    def restore(self, arrays):
        for name in self.FIELDS:
            getattr(self, name)[:] = arrays[name]
        self.added = int(arrays["added"])


def symmetry_tables():
    """(8, 18) feature permutations and (8, 9) cell maps: board k of a transition seen through
    engine.SYMMETRIES[k] has features x[:, feature_perm[k]] and its move at cell_map[k, a]."""
    feature_perm = np.array([list(p) + [9 + c for c in p] for p in engine.SYMMETRIES], dtype=np.int64)
    cell_map = np.array([[engine.transform_cell(c, p) for c in range(9)] for p in engine.SYMMETRIES], dtype=np.int64)
    return feature_perm, cell_map


def augment(batch, rng, feature_perm, cell_map):
    """Each transition seen through a random symmetry of the board (the same one for every board in it)."""
    k = rng.integers(0, 8, size=len(batch["action"]))
    rows = np.arange(len(k))[:, None]
    turned = dict(batch)
    for name in ("state", "next_state", "after_reply"):
        turned[name] = batch[name][rows, feature_perm[k]]
    for name in ("next_legal", "after_reply_legal"):
        turned[name] = batch[name][rows, feature_perm[k, :9]]
    turned["action"] = cell_map[k, batch["action"].astype(np.int64)]
    return turned
