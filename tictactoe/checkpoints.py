"""One periodic evaluation during training, the same for the three learners: what the judge says of
the greedy policy (exact, `evaluate.quick_check`), what a run prints and records of it, and how
two are compared when a learner keeps its best network."""

from dataclasses import asdict, dataclass

import numpy as np

from . import evaluate


@dataclass
class Checkpoint:
    """One evaluation at `episode`. steps (gradient steps) and loss (their mean since the last
    evaluation) stay 0 for the tabular learner."""

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

    def within_limits(self, limits):
        """No lost line and both exact win rates within one point of `limits` ({"X": p, "O": p})."""
        return self.unbeatable and all(abs(win - limits[side]) <= 0.01 for side, win in (("X", self.win_x), ("O", self.win_o)))

    def metrics(self):
        """What the run records as this evaluation's epoch (the /runs/ page, TensorBoard)."""
        fields = asdict(self)
        return {name: fields[name] for name in ("lost_lines_x", "lost_lines_o", "win_x", "win_o", "epsilon", "loss")}

    def line(self):
        return (
            f"episode {self.episode:>6}: lost lines X {self.lost_lines_x} O {self.lost_lines_o}; "
            f"exact win vs random X {100 * self.win_x:.2f}% O {100 * self.win_o:.2f}%; "
            f"epsilon {self.epsilon:.3f}; {self.seconds:.0f}s"
        )


def judge(q_function, *, episode, seconds, epsilon, steps=0, losses=()):
    """The Checkpoint of the greedy policy of `q_function` (`boards -> (n, 9)`) at `episode`."""
    check = evaluate.quick_check(q_function)
    return Checkpoint(
        episode=episode,
        steps=steps,
        seconds=seconds,
        epsilon=epsilon,
        loss=float(np.mean(losses)) if len(losses) else 0.0,
        lost_lines_x=check["X"]["lost_lines"],
        lost_lines_o=check["O"]["lost_lines"],
        win_x=check["X"]["win"],
        win_o=check["O"]["win"],
    )


def first_within_limits(history, limits):
    """The first checkpoint of `history` within one point of the limits (see `within_limits`), or None."""
    return next((c for c in history if c.within_limits(limits)), None)


def report(hooks, checkpoint, stage=None):
    """Say the checkpoint's line and record it as the run's epoch `checkpoint.episode`."""
    hooks.say(checkpoint.line())
    hooks.log_epoch(checkpoint.episode, checkpoint.metrics(), stage)
