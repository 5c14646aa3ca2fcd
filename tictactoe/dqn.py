"""A model-free DQN for tic-tac-toe: it learns from game outcomes alone. Reads top to bottom,
like CleanRL's dqn.py.

One network sees the board from the side to move (18 inputs) and gives a Q-value per cell. Every
move of every game is a transition from the mover's side:

    (state, action, reward, next state, done)   reward +1 for a win, 0 for a draw, else 0 until the end

and the target is the negamax form of Q-learning for a two-player zero-sum game: the next state is
the opponent's to move, so the value of a move is the opponent's best value there, negated,

    y = reward                                   if the move ends the game
    y = -gamma * max_b Q_target(next, b)         otherwise (b over the legal moves of `next`)

(a loss reaches the loser as the winner's +1, negated). With `two_step_weight` w > 0 the target
blends in the two-move return of the same transition (a multi-step return, as in Rainbow): after
the reply that was actually played, its reward (-1 or 0) where it ended the game, else
gamma^2 times the mover's own best value,

    y = (1 - w) * y_one_step + w * y_two_move

which carries a little of how the opponent really plays (an exploring opponent sometimes misses a
win or walks into one) into the values, so among drawing moves the greedy policy prefers the ones
that set traps. Nothing in the targets comes from the minimax solver, a table of positions or an
expectation over the opponent's replies: only sampled moves and their rewards. The opponent
(`--opponent`) is part of the environment:

- `self`: the learner plays both sides: the current network, or in `past_share` of the games
  one side is the target network (the online network as it was at the last sync), a past self;
- `random`: a uniformly random player;
- `minimax`: the perfect player (the solver plays that side; the learner never reads its values);
- `mix`: each game draws one of the three above.

The rest is the textbook DQN: experience replay of transitions (a ring buffer sampled uniformly;
each sampled transition seen through a random one of the board's 8 symmetries when `symmetries`
is on), a target network synced every `target_network_frequency` gradient steps, epsilon-greedy
moves with epsilon falling linearly, a Huber loss on the move played, Adam.

Model selection uses the judge (`evaluation.quick_check`, exhaustive and exact): at each
evaluation the network is kept if it loses fewer lines than the best so far, or as few and wins
more. The judge chooses among checkpoints; it never makes a target.
"""

import json
import os
import random
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal, Optional

import numpy as np

from . import engine, evaluation
from .positions import INPUT_SIZE, encode

OPPONENTS = ("self", "random", "minimax", "mix")


@dataclass(frozen=True)
class DQNConfig:
    """Hyper-parameters of one model-free DQN run (the defaults make the shipped agent)."""

    seed: int = 1
    """Seeds Python, NumPy and Keras: one seed, one result."""
    episodes: int = 6_000
    """Games played (against an opponent other than itself, the learner alternates X and O)."""
    opponent: Literal["self", "random", "minimax", "mix"] = "self"
    """Who plays the other side: self (current or past network), random, minimax, or mix (a pool of the three)."""
    past_share: float = 0.2
    """In self-play, the share of games where one side is the past network (the target network)."""
    hidden_units: int = 128
    """Width of each of the two hidden layers."""
    learning_rate: float = 1e-3
    """Adam's step size."""
    gamma: float = 0.95
    """Discount per move (below 1, a quicker win is worth more)."""
    two_step_weight: float = 0.5
    """Weight of the two-move return (the reply actually played, then the learner's own best value) in the target; 0 = one-step negamax only."""
    buffer_size: int = 20_000
    """Transitions the replay memory holds (the oldest make room)."""
    batch_size: int = 128
    """Transitions per gradient step."""
    learning_starts: int = 500
    """Transitions stored before the first gradient step."""
    train_frequency: int = 4
    """Gradient steps after each game."""
    target_network_frequency: int = 200
    """Gradient steps between copies of the online network into the target network."""
    start_epsilon: float = 1.0
    """Exploration at the start (probability of a random move)."""
    end_epsilon: float = 0.1
    """Exploration at the end of the schedule."""
    exploration_fraction: float = 0.5
    """Share of the episodes over which epsilon falls linearly from start to end."""
    symmetries: bool = True
    """See each sampled transition through a random one of the board's 8 symmetries."""
    eval_every: int = 100
    """Episodes between exact evaluations (the best one is kept)."""


def linear_schedule(start, end, duration, t):
    """Falls linearly from `start` to `end` over `duration` steps, then stays at `end`."""
    slope = (end - start) / max(duration, 1)
    return max(slope * t + start, end) if end < start else min(slope * t + start, end)


def build_q_network(hidden_units=256):
    """Board from the side to move (18 inputs) -> a Q-value for each of the 9 cells."""
    import keras

    inputs = keras.Input(shape=(INPUT_SIZE,), name="board")
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden1")(inputs)
    x = keras.layers.Dense(hidden_units, activation="relu", name="hidden2")(x)
    outputs = keras.layers.Dense(9, dtype="float32", name="q_values")(x)
    return keras.Model(inputs, outputs, name="tictactoe_dqn")


def legal_moves_huber(y_true, y_pred):
    """Huber loss over the masked moves of each row. y_true: (batch, 18) = [targets (9), mask (9)]."""
    from keras import ops

    targets, mask = y_true[:, :9], y_true[:, 9:]
    error = ops.abs(targets - ops.cast(y_pred, targets.dtype))
    quadratic = ops.minimum(error, 1.0)
    huber = 0.5 * quadratic**2 + (error - quadratic)
    return ops.sum(huber * mask) / ops.maximum(ops.sum(mask), 1.0)


def q_values_of(model, features):
    """The network's Q-values for a (n, 18) batch, as a NumPy array."""
    from keras import ops

    return ops.convert_to_numpy(model(features, training=False)).astype(np.float32)


def seed_everything(seed):
    """Python, NumPy and the Keras backend. (CPU kernels of these small dense layers are
    deterministic; the tests train twice with one seed and compare.)"""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def symmetry_tables():
    """(8, 18) feature permutations and (8, 9) cell maps: board k of a transition seen through
    engine.SYMMETRIES[k] has features x[:, feature_perm[k]] and its move at cell_map[k, a]."""
    feature_perm = np.array([list(p) + [9 + c for c in p] for p in engine.SYMMETRIES], dtype=np.int64)
    cell_map = np.array([[engine.transform_cell(c, p) for c in range(9)] for p in engine.SYMMETRIES], dtype=np.int64)
    return feature_perm, cell_map


class ReplayMemory:
    """A ring buffer of transitions, as arrays (NumPy, so a run can be saved and resumed).

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


def best_legal(q, legal):
    """(n,) the largest Q-value over each row's legal moves (0 where there is none)."""
    best = np.where(legal, q, -np.inf).max(axis=1)
    return np.where(legal.any(axis=1), best, 0.0)


def negamax_targets(batch, next_q, gamma):
    """(n,) one-step targets: the reward where the move ended the game, else minus gamma times the
    next mover's best Q-value (over its legal moves) in the next state."""
    return np.where(batch["done"], batch["reward"], -gamma * best_legal(next_q, batch["next_legal"])).astype(np.float32)


def two_step_targets(batch, after_reply_q, gamma):
    """(n,) two-move targets: the reward where the move ended the game; else, after the reply that
    was played, gamma times its reward (-1 or 0) where it ended the game, else gamma^2 times the
    mover's own best Q-value."""
    bootstrap = gamma**2 * best_legal(after_reply_q, batch["after_reply_legal"])
    after = np.where(batch["reply_done"], gamma * batch["reply_reward"], bootstrap)
    return np.where(batch["done"], batch["reward"], after).astype(np.float32)


@dataclass
class Checkpoint:
    """One periodic evaluation during training."""

    episode: int
    steps: int
    seconds: float
    epsilon: float
    loss: float
    lost_lines_x: int
    lost_lines_o: int
    win_x: float
    win_o: float

    @property
    def unbeatable(self):
        return self.lost_lines_x == 0 and self.lost_lines_o == 0

    def rank(self):
        """Larger is better: fewer lost lines, then more wins against random."""
        return (-(self.lost_lines_x + self.lost_lines_o), self.win_x + self.win_o)


@dataclass
class TrainResult:
    model: object
    history: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    transitions: int = 0
    selected_episode: Optional[int] = None

    def summary(self):
        return {
            "seconds": round(self.seconds, 1),
            "gradient_steps": self.steps,
            "transitions": self.transitions,
            "selected_episode": self.selected_episode,
            "history": [asdict(c) for c in self.history],
        }


def save_state(folder, state, memory, networks):
    """Everything a killed run needs to go on exactly as if it had not stopped (written atomically).
    networks: {"online": model with its optimizer, "target": model, "best": model}."""
    folder = Path(folder)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    online = networks["online"]
    if not online.optimizer.built:
        online.optimizer.build(online.trainable_variables)
    for name, model in networks.items():
        model.save_weights(partial / f"{name}.weights.h5")  # the online one with the optimizer's state
    np.savez(partial / "memory.npz", **memory.arrays())
    (partial / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def load_state(folder, memory, networks):
    """The saved loop state (memory and networks restored in place), or None."""
    folder = Path(folder)
    if not (folder / "state.json").exists():
        return None
    online = networks["online"]
    if not online.optimizer.built:
        online.optimizer.build(online.trainable_variables)
    for name, model in networks.items():
        model.load_weights(folder / f"{name}.weights.h5")
    with np.load(folder / "memory.npz") as arrays:
        memory.restore(arrays)
    return json.loads((folder / "state.json").read_text())


def train(
    config: DQNConfig,
    *,
    jit_compile=False,
    scope: Optional[Callable] = None,
    resume_dir=None,
    on_episode: Optional[Callable[[int, dict], None]] = None,
    on_checkpoint: Optional[Callable[[Checkpoint], None]] = None,
):
    """Train the DQN; `on_episode(episode, values)` after each game, `on_checkpoint` after each evaluation.

    `scope()`: a context (a tf.distribute strategy's scope) to build the networks in.
    `resume_dir`: where the loop state is saved at each evaluation; a run started again with the
    same folder goes on from there, with the same result as an uninterrupted run.
    Returns the best network the judge saw (see the module docstring) as `result.model`.
    """
    import keras

    if config.opponent not in OPPONENTS:
        raise ValueError(f"unknown opponent {config.opponent!r}; choose from {', '.join(OPPONENTS)}")
    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    started = time.monotonic()

    # The online, target and best-so-far networks: one builder, called three times.
    with (scope or nullcontext)():
        q_network = build_q_network(config.hidden_units)
        q_network.compile(
            optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
            loss=legal_moves_huber,
            jit_compile=jit_compile,
        )
        target_network = build_q_network(config.hidden_units)
        best_network = build_q_network(config.hidden_units)
    target_network.set_weights(q_network.get_weights())
    best_network.set_weights(q_network.get_weights())
    networks = {"online": q_network, "target": target_network, "best": best_network}
    memory = ReplayMemory(config.buffer_size)
    feature_perm, cell_map = symmetry_tables()

    result = TrainResult(model=best_network)
    steps = 0
    recent_losses = []
    first_episode = 0
    best_rank = None
    saved = load_state(resume_dir, memory, networks) if resume_dir else None
    if saved is not None:
        steps, first_episode = saved["steps"], saved["episode"]
        rng.bit_generator.state = saved["rng"]
        result.history = [Checkpoint(**c) for c in saved["history"]]
        result.selected_episode = saved["selected_episode"]
        best_rank = tuple(saved["best_rank"]) if saved["best_rank"] is not None else None
        started -= saved["seconds"]

    def greedy(network, board):
        q = q_values_of(network, encode([board]))[0]
        return max(engine.legal_moves(board), key=lambda c: (q[c], -c))

    exploration_episodes = int(config.exploration_fraction * config.episodes)
    for episode in range(first_episode, config.episodes):
        epsilon = linear_schedule(config.start_epsilon, config.end_epsilon, exploration_episodes, episode)

        # Who plays the other side of this game.
        opponent = config.opponent if config.opponent != "mix" else OPPONENTS[int(rng.integers(0, 3))]
        learner = "X" if episode % 2 == 0 else "O"
        past_self = opponent == "self" and rng.random() < config.past_share

        # Play one game; every move is a transition from the mover's side.
        board = engine.EMPTY_BOARD
        previous = None
        while not engine.is_over(board):
            legal = engine.legal_moves(board)
            mover_is_learner = opponent == "self" or engine.to_move(board) == learner
            if opponent == "random" and not mover_is_learner:
                move = int(rng.choice(legal))
            elif opponent == "minimax" and not mover_is_learner:
                move = int(rng.choice(engine.best_moves(board)))
            elif rng.random() < epsilon:
                move = int(rng.choice(legal))
            else:  # the learner, or its past self on the other side
                past_side = past_self and engine.to_move(board) != learner
                move = greedy(target_network if past_side else q_network, board)
            following = engine.play(board, move)
            if previous is not None:
                memory.add_reply(previous, following)  # `move` was the reply to the previous one
            previous = memory.add(board, move, following)
            board = following

        # Learn from a batch of sampled transitions, with the negamax target.
        if len(memory) >= config.learning_starts:
            for _ in range(config.train_frequency):
                batch = memory.sample(rng, config.batch_size)
                if config.symmetries:
                    batch = augment(batch, rng, feature_perm, cell_map)
                next_q = q_values_of(target_network, batch["next_state"].astype(np.float32))
                targets = negamax_targets(batch, next_q, config.gamma)
                if config.two_step_weight > 0:
                    after_reply_q = q_values_of(target_network, batch["after_reply"].astype(np.float32))
                    two_step = two_step_targets(batch, after_reply_q, config.gamma)
                    targets = (1 - config.two_step_weight) * targets + config.two_step_weight * two_step
                played = np.zeros((len(targets), 9), dtype=np.float32)
                played[np.arange(len(targets)), batch["action"]] = 1.0
                y = np.concatenate([played * targets[:, None], played], axis=1)
                loss = q_network.train_on_batch(batch["state"].astype(np.float32), y)
                recent_losses.append(float(loss))
                steps += 1
                if steps % config.target_network_frequency == 0:
                    target_network.set_weights(q_network.get_weights())

        if on_episode is not None:
            on_episode(episode + 1, {"epsilon": epsilon, "loss": recent_losses[-1] if recent_losses else 0.0})

        # Periodic exact evaluation of the online network's greedy policy; keep the best.
        if (episode + 1) % config.eval_every == 0 or episode + 1 == config.episodes:
            check = evaluation.quick_check(q_function(q_network))
            checkpoint = Checkpoint(
                episode=episode + 1,
                steps=steps,
                seconds=time.monotonic() - started,
                epsilon=epsilon,
                loss=float(np.mean(recent_losses)) if recent_losses else 0.0,
                lost_lines_x=check["X"]["lost_lines"],
                lost_lines_o=check["O"]["lost_lines"],
                win_x=check["X"]["win"],
                win_o=check["O"]["win"],
            )
            recent_losses = []
            result.history.append(checkpoint)
            if best_rank is None or checkpoint.rank() > best_rank:
                best_rank = checkpoint.rank()
                best_network.set_weights(q_network.get_weights())
                result.selected_episode = checkpoint.episode
            if resume_dir:  # before the callback, which may stop the run
                state = {
                    "steps": steps,
                    "episode": episode + 1,
                    "rng": rng.bit_generator.state,
                    "history": [asdict(c) for c in result.history],
                    "selected_episode": result.selected_episode,
                    "best_rank": best_rank,
                    "seconds": checkpoint.seconds,
                }
                save_state(resume_dir, state, memory, networks)
            if on_checkpoint is not None:
                on_checkpoint(checkpoint)

    result.seconds = time.monotonic() - started
    result.steps = steps
    result.transitions = memory.added
    return result


def q_function(model):
    """`boards -> (n, 9)` Q-values of a trained (or loaded) network, for evaluation and play."""
    return lambda boards: q_values_of(model, encode(list(boards)))


def save(model, path):
    """Save as a .keras file (boards encoded by `positions.encode` in, 9 Q-values out): the network
    only, without the optimizer's state or the training loss, so the file stays small."""
    import keras

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    keras.Model(model.inputs[0], model.outputs[0], name=model.name).save(path)  # same layers, not compiled
    return path


def load(path):
    import keras

    return keras.saving.load_model(path, compile=False)
