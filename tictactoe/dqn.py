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

The rest is the textbook DQN: experience replay of transitions (`replay.py`: a ring buffer
sampled uniformly; each sampled transition seen through a random one of the board's 8 symmetries
when `symmetries` is on), a target network synced every `target_network_frequency` gradient steps, epsilon-greedy
moves with epsilon falling linearly, a Huber loss on the move played, Adam.

Model selection uses the judge (`evaluate.quick_check`, exhaustive and exact): at each
evaluation the network is kept if it loses fewer lines than the best so far, or as few and wins
more. The judge chooses among checkpoints; it never makes a target.

The network, its loss and its file are `networks.py`'s; the state a killed run resumes from is
`resume.py`'s. `train.py` runs this learner for `train_tictactoe`.
"""

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal, Optional

import numpy as np

from deepboot.hooks import TrainHooks, linear_schedule, seed_everything

from . import engine
from .checkpoints import Checkpoint, judge, report
from .networks import build_q_network, legal_moves_huber, q_function, q_values_of
from .positions import encode
from .replay import ReplayMemory, augment, symmetry_tables
from .resume import load_state, save_state

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
    eval_games: int = 10_000
    """Games per side against a random player in the final evaluation of the saved agent."""


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
class Learned:
    """What a DQN run hands back: the network the judge kept, and how it got there."""

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


def train(config: DQNConfig, hooks: TrainHooks = TrainHooks(), on_episode: Optional[Callable[[int, dict], None]] = None):
    """Train the DQN; returns the best network the judge saw (see the module docstring) as `model`.

    hooks: the networks are built in `hooks.scope()` with `hooks.precision()` and compiled with
    `hooks.jit`; each evaluation is said (`hooks.say`) and recorded (`hooks.log_epoch(episode, metrics)`); with `hooks.resume_dir`
    the loop state is saved there (under dqn/) at each evaluation, before it is recorded, and a run
    started again with the same folder goes on from there, with the same result as an uninterrupted
    run. on_episode(episode, {"epsilon", "loss"}) after each game (a progress bar).
    """
    import keras

    if config.opponent not in OPPONENTS:
        raise ValueError(f"unknown opponent {config.opponent!r}; choose from {', '.join(OPPONENTS)}")
    seed_everything(config.seed)
    rng = np.random.default_rng(config.seed)
    started = time.monotonic()

    # The online, target and best-so-far networks: one builder, called three times.
    with hooks.scope(), hooks.precision():
        q_network = build_q_network(config.hidden_units)
        q_network.compile(
            optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
            loss=legal_moves_huber,
            jit_compile=hooks.jit,
        )
        target_network = build_q_network(config.hidden_units)
        best_network = build_q_network(config.hidden_units)
    target_network.set_weights(q_network.get_weights())
    best_network.set_weights(q_network.get_weights())
    networks = {"online": q_network, "target": target_network, "best": best_network}
    memory = ReplayMemory(config.buffer_size)
    feature_perm, cell_map = symmetry_tables()

    result = Learned(model=best_network)
    steps = 0
    recent_losses = []
    first_episode = 0
    best_rank = None
    resume_dir = Path(hooks.resume_dir) / "dqn" if hooks.resume_dir else None
    saved = load_state(resume_dir, networks) if resume_dir else None
    if saved is not None:
        saved, arrays = saved
        memory.restore(arrays)
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
        hooks.safe_point()  # a stop (SIGTERM, Ctrl-C) ends the run here, between two games
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
            checkpoint = judge(q_function(q_network), episode=episode + 1, seconds=time.monotonic() - started,
                               epsilon=epsilon, steps=steps, losses=recent_losses)
            recent_losses = []
            result.history.append(checkpoint)
            if best_rank is None or checkpoint.rank() > best_rank:
                best_rank = checkpoint.rank()
                best_network.set_weights(q_network.get_weights())
                result.selected_episode = checkpoint.episode
            if resume_dir:  # before the record, which a stop may interrupt
                state = {
                    "steps": steps,
                    "episode": episode + 1,
                    "rng": rng.bit_generator.state,
                    "history": [asdict(c) for c in result.history],
                    "selected_episode": result.selected_episode,
                    "best_rank": best_rank,
                    "seconds": checkpoint.seconds,
                }
                save_state(resume_dir, state, networks, memory.arrays())
            report(hooks, checkpoint)

    result.seconds = time.monotonic() - started
    result.steps = steps
    result.transitions = memory.added
    return result
