"""The learning curve of a tic-tac-toe run, as a PNG (matplotlib, no display)."""

from pathlib import Path


def learning_curve(history, limits, path, title):
    """Exact win rates vs random (X, O) and lost lines per evaluation, against episodes.

    history: checkpoints with .episode, .win_x, .win_o, .lost_lines_x, .lost_lines_o
    limits:  {"X": p, "O": p}, the ceiling drawn as dashed lines
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    episodes = [c.episode for c in history]
    fig, (rates, losses) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, constrained_layout=True)
    rates.plot(episodes, [100 * c.win_x for c in history], marker="o", label="win % as X")
    rates.plot(episodes, [100 * c.win_o for c in history], marker="o", label="win % as O")
    rates.axhline(100 * limits["X"], linestyle="--", color="C0", alpha=0.6, label=f"limit X {100 * limits['X']:.2f}%")
    rates.axhline(100 * limits["O"], linestyle="--", color="C1", alpha=0.6, label=f"limit O {100 * limits['O']:.2f}%")
    rates.set_ylabel("win % vs random (exact)")
    rates.set_title(title)
    rates.legend(loc="lower right", fontsize=8)
    rates.grid(alpha=0.3)
    losses.plot(episodes, [c.lost_lines_x for c in history], marker="o", label="lost lines as X")
    losses.plot(episodes, [c.lost_lines_o for c in history], marker="o", label="lost lines as O")
    losses.set_ylim(bottom=-0.5, top=max([1] + [max(c.lost_lines_x, c.lost_lines_o) for c in history]) * 1.1 + 0.5)
    losses.set_xlabel("episodes")
    losses.set_ylabel("lines lost (exhaustive)")
    losses.legend(loc="upper right", fontsize=8)
    losses.grid(alpha=0.3)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
