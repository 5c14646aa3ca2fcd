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
cosine-decayed learning rate. The network is `networks.py`'s (the DQN's), the evaluations
`checkpoints.py`'s and the state a killed run resumes from `resume.py`'s.
"""

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from deepboot.hooks import TrainHooks, linear_schedule, seed_everything

from . import engine
from .checkpoints import Checkpoint, judge, report
from .networks import build_q_network, legal_moves_huber, q_values_of
from .positions import position_table
from .resume import load_state, save_state


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
    eval_games: int = 10_000
    """Games per side against a random player in the final evaluation of the saved agent."""


@dataclass
class Learned:
    """What a dqn-teacher run hands back: the fitted network and its evaluations."""

    model: object
    history: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0

    def summary(self):
        return {
            "seconds": round(self.seconds, 1),
            "gradient_steps": self.steps,
            "history": [asdict(c) for c in self.history],
        }


def train(config: TeacherConfig, hooks: TrainHooks = TrainHooks(), on_episode: Optional[Callable[[int, dict], None]] = None):
    """Fit the network to the teacher's targets; returns the network at the end as `model`.

    hooks: the networks are built in `hooks.scope()` with `hooks.precision()` and compiled with
    `hooks.jit`; each evaluation is said and recorded (`hooks.say`, `hooks.log_epoch`); with `hooks.resume_dir` the loop state is
    saved there (under dqn-teacher/) at each evaluation, and a run started again with the same
    folder goes on from there, with the same result as an uninterrupted run.
    on_episode(episode, {"epsilon", "loss"}) after each game (a progress bar).
    """
    import keras

    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    table = position_table()
    started = time.monotonic()

    # The online and target networks: one builder, called twice.
    with hooks.scope(), hooks.precision():
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
            jit_compile=hooks.jit,
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

    result = Learned(model=q_network)
    steps = 0
    recent_losses = []
    first_episode = 0
    networks = {"online": q_network, "target": target_network}
    resume_dir = Path(hooks.resume_dir) / "dqn-teacher" if hooks.resume_dir else None
    saved = load_state(resume_dir, networks) if resume_dir else None
    if saved is not None:
        saved, arrays = saved
        memory[:] = arrays["memory"]
        stored, steps, first_episode = saved["stored"], saved["steps"], saved["episode"]
        seen[memory[:stored]] = True
        rng.bit_generator.state = saved["rng"]
        result.history = [Checkpoint(**c) for c in saved["history"]]
        started -= saved["seconds"]
        acting_q, targets = tabulate()
    exploration_episodes = int(config.exploration_fraction * config.episodes)
    for episode in range(first_episode, config.episodes):
        hooks.safe_point()  # a stop (SIGTERM, Ctrl-C) ends the run here, between two games
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
            checkpoint = judge(lambda boards: q_values_of(q_network, table.features[table.ids(boards)]),
                               episode=episode + 1, seconds=time.monotonic() - started, epsilon=epsilon,
                               steps=steps, losses=recent_losses)
            recent_losses = []
            result.history.append(checkpoint)
            if resume_dir:  # before the record, which a stop may interrupt
                state = {
                    "stored": stored,
                    "steps": steps,
                    "episode": episode + 1,
                    "rng": rng.bit_generator.state,
                    "history": [asdict(c) for c in result.history],
                    "seconds": checkpoint.seconds,
                }
                save_state(resume_dir, state, networks, {"memory": memory})
            report(hooks, checkpoint)

    result.seconds = time.monotonic() - started
    result.steps = steps
    return result


