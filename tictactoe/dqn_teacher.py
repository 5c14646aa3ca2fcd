"""`--algo dqn-teacher`: a network fitted to a teacher's values (a distillation, not reinforcement
learning from rewards). Reads top to bottom. For the model-free DQN see `dqn.py`.

The network (the same as the DQN's: the side to move's board in, 9 values out) is fitted to two
things that come from the game's model, not from sampled rewards:

- its expected score against a uniformly random player when it plays on as well as it can: every
  target is the exact expectation over the random player's replies, read from the position table
  (reward +1 win / 0 draw / -1 loss, gamma = 1, bootstrapped from a target network), and
- a penalty of `unsafe_penalty` (2) for a move the minimax solver proves loses against a perfect
  opponent. Safe moves are worth 0..1 and unsafe ones at most -1, so the greedy policy never loses
  (the penalty alone does that) and, among safe moves, picks the one most likely to beat a random
  player.

The replay memory holds which positions were met (once each), not transitions or rewards; every
legal move of a sampled position gets its target, each position seen through a random one of the
board's eight symmetries. The target network is refreshed every `target_network_frequency`
gradient steps; epsilon falls linearly; Huber loss over the legal moves; Adam with a
cosine-decayed learning rate.
"""

import json
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import engine, evaluation
from .dqn import Checkpoint, build_q_network, legal_moves_huber, linear_schedule, q_values_of, seed_everything
from .positions import position_table


@dataclass(frozen=True)
class TeacherConfig:
    """Hyper-parameters of one dqn-teacher run (the defaults fit an unbeatable agent)."""

    seed: int = 1
    """Seeds Python, NumPy and Keras: one seed, one result."""
    episodes: int = 4_000
    """Games played against the random opponent (half as X, half as O); they choose which positions are fitted."""
    hidden_units: int = 256
    """Width of each of the two hidden layers."""
    learning_rate: float = 1e-3
    """Adam's step size at the start; it falls along a cosine to `final_learning_rate`."""
    final_learning_rate: float = 1e-5
    """Adam's step size at the last gradient step (a small one settles close ties)."""
    batch_size: int = 256
    """Positions per gradient step (every legal move of each is trained)."""
    learning_starts: int = 64
    """Distinct positions met before the first gradient step."""
    train_frequency: int = 4
    """Gradient steps after each episode."""
    target_network_frequency: int = 500
    """Gradient steps between copies of the online network into the target network."""
    start_epsilon: float = 1.0
    """Exploration at the start (probability of a random move)."""
    end_epsilon: float = 0.05
    """Exploration at the end of the schedule."""
    exploration_fraction: float = 0.5
    """Share of the episodes over which epsilon falls linearly from start to end."""
    unsafe_penalty: float = 2.0
    """Subtracted from the target of a move the minimax teacher proves losing."""
    eval_every: int = 500
    """Episodes between exact evaluations (exhaustive lines, exact win rates vs random)."""


@dataclass
class TrainResult:
    model: object
    history: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    episodes_to_unbeatable: Optional[int] = None
    seconds_to_unbeatable: Optional[float] = None

    def summary(self):
        return {
            "seconds": round(self.seconds, 1),
            "gradient_steps": self.steps,
            "episodes_to_unbeatable": self.episodes_to_unbeatable,
            "seconds_to_unbeatable": None
            if self.seconds_to_unbeatable is None
            else round(self.seconds_to_unbeatable, 1),
            "history": [asdict(c) for c in self.history],
        }


def save_state(folder, state, q_network, target_network):
    """Everything a killed run needs to go on exactly as if it had not stopped (written atomically)."""
    folder = Path(folder)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if not q_network.optimizer.built:
        q_network.optimizer.build(q_network.trainable_variables)
    q_network.save_weights(partial / "online.weights.h5")  # with the optimizer's state
    target_network.save_weights(partial / "target.weights.h5")
    np.save(partial / "memory.npy", state.pop("memory"))
    (partial / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def load_state(folder, q_network, target_network):
    """The saved loop state (and the networks and optimizer restored in place), or None."""
    folder = Path(folder)
    if not (folder / "state.json").exists():
        return None
    if not q_network.optimizer.built:
        q_network.optimizer.build(q_network.trainable_variables)
    q_network.load_weights(folder / "online.weights.h5")
    target_network.load_weights(folder / "target.weights.h5")
    state = json.loads((folder / "state.json").read_text())
    state["memory"] = np.load(folder / "memory.npy")
    return state


def train(
    config: TeacherConfig,
    *,
    jit_compile=False,
    scope: Optional[Callable] = None,
    resume_dir=None,
    on_episode: Optional[Callable[[int, dict], None]] = None,
    on_checkpoint: Optional[Callable[[Checkpoint], None]] = None,
):
    """Fit the network to the teacher's targets; `on_episode(episode, values)` after each game, `on_checkpoint` after each evaluation.

    `scope()`: a context (a tf.distribute strategy's scope) to build the networks in.
    `resume_dir`: where the loop state is saved at each evaluation; a run started again with the
    same folder goes on from there, with the same result as an uninterrupted run.
    """
    import keras

    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    table = position_table()
    started = time.monotonic()

    # The online and target networks: one builder, called twice.
    with (scope or nullcontext)():
        q_network = build_q_network(config.hidden_units)
        q_network.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate=keras.optimizers.schedules.CosineDecay(
                    config.learning_rate,
                    decay_steps=max(config.episodes * config.train_frequency, 1),
                    alpha=config.final_learning_rate / config.learning_rate,
                )
            ),
            loss=legal_moves_huber,
            jit_compile=jit_compile,
        )
        target_network = build_q_network(config.hidden_units)
    target_network.set_weights(q_network.get_weights())

    def tabulate():
        """The target network's values of every position, and the Bellman targets they give."""
        target_q = q_values_of(target_network, table.features)
        return target_q, table.bellman_targets(target_q, config.unsafe_penalty)

    def sync_target():
        target_network.set_weights(q_network.get_weights())
        return tabulate()

    acting_q, targets = sync_target()

    # Replay memory: each position the agent has been to move in, once (a rare position weighs as
    # much as the opening; the targets come from the table, so repeats would add nothing).
    memory = np.zeros(table.size, dtype=np.int32)
    seen = np.zeros(table.size, dtype=bool)
    stored = 0

    result = TrainResult(model=q_network)
    steps = 0
    recent_losses = []
    first_episode = 0
    saved = load_state(resume_dir, q_network, target_network) if resume_dir else None
    if saved is not None:
        memory[:] = saved["memory"]
        stored, steps, first_episode = saved["stored"], saved["steps"], saved["episode"]
        seen[memory[:stored]] = True
        rng.bit_generator.state = saved["rng"]
        result.history = [Checkpoint(**c) for c in saved["history"]]
        result.episodes_to_unbeatable = saved["episodes_to_unbeatable"]
        result.seconds_to_unbeatable = saved["seconds_to_unbeatable"]
        started -= saved["seconds"]
        acting_q, targets = tabulate()
    exploration_episodes = int(config.exploration_fraction * config.episodes)
    for episode in range(first_episode, config.episodes):
        epsilon = linear_schedule(config.start_epsilon, config.end_epsilon, exploration_episodes, episode)
        agent = "X" if episode % 2 == 0 else "O"

        # Play one game: the agent epsilon-greedy (on the target network's values), the opponent random.
        board = engine.EMPTY_BOARD
        while not engine.is_over(board):
            legal = engine.legal_moves(board)
            if engine.to_move(board) == agent:
                position = table.index[board]
                if rng.random() < epsilon:
                    move = int(rng.choice(legal))
                else:
                    move = max(legal, key=lambda c: (acting_q[position, c], -c))
                if not seen[position]:
                    seen[position] = True
                    memory[stored] = position
                    stored += 1
            else:
                move = int(rng.choice(legal))
            board = engine.play(board, move)

        # Learn from a batch of remembered positions, each seen through a random symmetry.
        if stored >= config.learning_starts:
            for _ in range(config.train_frequency):
                picks = rng.integers(0, stored, size=config.batch_size)
                symmetry = rng.integers(0, 8, size=config.batch_size)
                positions = table.symmetric_ids[memory[picks], symmetry]
                y = np.concatenate([np.nan_to_num(targets[positions]), table.legal[positions]], axis=1)
                loss = q_network.train_on_batch(table.features[positions], y)
                recent_losses.append(float(loss))
                steps += 1
                if steps % config.target_network_frequency == 0:
                    acting_q, targets = sync_target()

        if on_episode is not None:
            on_episode(episode + 1, {"epsilon": epsilon, "loss": recent_losses[-1] if recent_losses else 0.0})

        # Periodic exact evaluation of the online network's greedy policy.
        if (episode + 1) % config.eval_every == 0 or episode + 1 == config.episodes:
            check = evaluation.quick_check(lambda boards: q_values_of(q_network, table.features[table.ids(boards)]))
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
            limits = evaluation.limit_win_rates()
            if (
                result.episodes_to_unbeatable is None
                and checkpoint.unbeatable
                and abs(checkpoint.win_x - limits["X"]) <= 0.01
                and abs(checkpoint.win_o - limits["O"]) <= 0.01
            ):
                result.episodes_to_unbeatable = checkpoint.episode
                result.seconds_to_unbeatable = checkpoint.seconds
            if resume_dir:  # before the callback, which may stop the run
                state = {
                    "memory": memory,
                    "stored": stored,
                    "steps": steps,
                    "episode": episode + 1,
                    "rng": rng.bit_generator.state,
                    "history": [asdict(c) for c in result.history],
                    "episodes_to_unbeatable": result.episodes_to_unbeatable,
                    "seconds_to_unbeatable": result.seconds_to_unbeatable,
                    "seconds": checkpoint.seconds,
                }
                save_state(resume_dir, state, q_network, target_network)
            if on_checkpoint is not None:
                on_checkpoint(checkpoint)

    result.seconds = time.monotonic() - started
    result.steps = steps
    return result


