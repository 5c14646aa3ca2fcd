"""How strong is an agent? Pure Python and NumPy: no Django, no Keras.

An agent is judged through its greedy policy, a table {board: cell} for every position where it
could be to move, built from one batched call of its Q-function (`policy_table`). Then:

- `play_random`: N games against a uniformly random player (win/draw/loss rates);
- `exact_vs_random`: the same rates computed exactly over the random player's choices;
- `against_minimax`: every line where a perfect player picks any of its best moves;
- `exhaustive`: every line of play an opponent can choose; a perfect agent loses none.

`limit_win_rates()` is the ceiling: the win rates vs random of a player that never loses and,
among non-losing moves, maximises its chance to win (99.48% as X, 91.64% as O).
"""

import random
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from . import engine
from .positions import greedy_move

SIDES = ("X", "O")


@dataclass
class Outcomes:
    """Counts of games or lines from the agent's side."""

    win: int = 0
    draw: int = 0
    loss: int = 0

    @property
    def total(self):
        return self.win + self.draw + self.loss

    def add(self, result):
        setattr(self, result, getattr(self, result) + 1)

    def rates(self):
        total = self.total or 1
        return {"win": self.win / total, "draw": self.draw / total, "loss": self.loss / total}


def result_for(board, agent_mark):
    """'win', 'draw' or 'loss' for the agent on a finished board."""
    w = engine.winner(board)
    if w is None:
        return "draw"
    return "win" if w == agent_mark else "loss"


@lru_cache(maxsize=1)
def positions_to_move():
    """Every reachable position where someone is to move (4,520 boards), from the rules alone."""
    return tuple(b for b in engine.all_positions() if not engine.is_over(b))


def policy_table(q_function):
    """{board: cell} for every non-terminal position, from `q_function(boards) -> (n, 9)` values.
    (No solver here: the model-free DQN's model selection calls this with the solver unavailable.)"""
    boards = list(positions_to_move())
    q = np.asarray(q_function(boards), dtype=np.float64)
    return {board: greedy_move(row, board) for board, row in zip(boards, q)}


def play_random(policy, agent_mark, games, seed=0):
    """Outcomes of `games` games against a uniformly random player (seeded)."""
    rng = random.Random(seed)
    outcomes = Outcomes()
    for _ in range(games):
        board = engine.EMPTY_BOARD
        while not engine.is_over(board):
            if engine.to_move(board) == agent_mark:
                cell = policy[board]
            else:
                cell = rng.choice(engine.legal_moves(board))
            board = engine.play(board, cell)
        outcomes.add(result_for(board, agent_mark))
    return outcomes


def exact_vs_random(policy, agent_mark):
    """Exact win/draw/loss probabilities against a uniformly random player."""

    @lru_cache(maxsize=None)
    def probabilities(board):
        if engine.is_over(board):
            result = result_for(board, agent_mark)
            return tuple(1.0 if r == result else 0.0 for r in ("win", "draw", "loss"))
        if engine.to_move(board) == agent_mark:
            return probabilities(engine.play(board, policy[board]))
        moves = engine.legal_moves(board)
        parts = [probabilities(engine.play(board, m)) for m in moves]
        return tuple(sum(p[k] for p in parts) / len(moves) for k in range(3))

    win, draw, loss = probabilities(engine.EMPTY_BOARD)
    return {"win": win, "draw": draw, "loss": loss}


def _lines(policy, agent_mark, opponent_moves):
    """Outcomes over every line where the opponent plays each of `opponent_moves(board)`."""
    outcomes = Outcomes()
    stack = [engine.EMPTY_BOARD]
    while stack:
        board = stack.pop()
        if engine.is_over(board):
            outcomes.add(result_for(board, agent_mark))
        elif engine.to_move(board) == agent_mark:
            stack.append(engine.play(board, policy[board]))
        else:
            stack.extend(engine.play(board, m) for m in opponent_moves(board))
    return outcomes


def exhaustive(policy, agent_mark):
    """Outcomes over every line of play an opponent can choose (the agent follows its policy)."""
    return _lines(policy, agent_mark, engine.legal_moves)


def against_minimax(policy, agent_mark):
    """Outcomes over every line where a perfect player picks any of its best moves."""
    return _lines(policy, agent_mark, engine.best_moves)


@lru_cache(maxsize=1)
def limit_win_rates():
    """{"X": p, "O": p}: win rates vs random of the strongest player that never loses."""
    rates = {}
    for mark in SIDES:

        @lru_cache(maxsize=None)
        def win_chance(board, mark=mark):
            if engine.is_over(board):
                return 1.0 if engine.winner(board) == mark else 0.0
            if engine.to_move(board) == mark:
                return max(win_chance(engine.play(board, m)) for m in engine.safe_moves(board))
            moves = engine.legal_moves(board)
            return sum(win_chance(engine.play(board, m)) for m in moves) / len(moves)

        rates[mark] = win_chance(engine.EMPTY_BOARD)
    return rates


@dataclass
class Report:
    """Everything `evaluate_tictactoe` prints, for one agent."""

    games: int
    seed: int
    vs_random: dict = field(default_factory=dict)  # side -> {"win","draw","loss"} rates over `games`
    vs_random_exact: dict = field(default_factory=dict)  # side -> exact rates
    vs_minimax: dict = field(default_factory=dict)  # side -> {"win","draw","loss"} line counts
    exhaustive: dict = field(default_factory=dict)  # side -> {"lines","win","draw","loss"}
    limits: dict = field(default_factory=dict)  # side -> ceiling win rate

    @property
    def lost_lines(self):
        return sum(self.exhaustive[side]["loss"] for side in SIDES)

    @property
    def within_one_point(self):
        """Both sampled win rates within one percentage point of the ceiling."""
        return all(abs(self.vs_random[s]["win"] - self.limits[s]) <= 0.01 for s in SIDES)

    @property
    def unbeatable(self):
        return self.lost_lines == 0

    def to_dict(self):
        return {
            **asdict(self),
            "lost_lines": self.lost_lines,
            "unbeatable": self.unbeatable,
            "within_one_point": self.within_one_point,
        }


def evaluate_policy(policy, games=10_000, seed=0):
    report = Report(games=games, seed=seed, limits=dict(limit_win_rates()))
    for offset, side in enumerate(SIDES):
        report.vs_random[side] = play_random(policy, side, games, seed=seed + offset).rates()
        report.vs_random_exact[side] = exact_vs_random(policy, side)
        report.vs_minimax[side] = asdict(against_minimax(policy, side))
        lines = exhaustive(policy, side)
        report.exhaustive[side] = {"lines": lines.total, **asdict(lines)}
    return report


def evaluate(q_function, games=10_000, seed=0):
    """The full report for an agent given as `q_function(boards) -> (n, 9)` values."""
    return evaluate_policy(policy_table(q_function), games=games, seed=seed)


def quick_check(q_function):
    """Exact figures only (no sampling): lost lines per side and exact win rates. For training."""
    policy = policy_table(q_function)
    return {
        side: {"lost_lines": exhaustive(policy, side).loss, "win": exact_vs_random(policy, side)["win"]}
        for side in SIDES
    }


def metrics_of(report):
    """The flat figures a registry entry keeps."""
    return {
        "games": report.games,
        "lost_lines": report.lost_lines,
        "lost_lines_x": report.exhaustive["X"]["loss"],
        "lost_lines_o": report.exhaustive["O"]["loss"],
        "win_x": report.vs_random["X"]["win"],
        "win_o": report.vs_random["O"]["win"],
        "win_x_exact": round(report.vs_random_exact["X"]["win"], 6),
        "win_o_exact": round(report.vs_random_exact["O"]["win"], 6),
        "unbeatable": report.unbeatable,
        "within_one_point": report.within_one_point,
    }


def format_report(report):
    """The report as lines of text, as `evaluate_tictactoe` prints it."""
    pct = lambda p: f"{100 * p:6.2f}%"  # noqa: E731
    lines = [f"Against a uniformly random player, {report.games} games per side (seed {report.seed}):"]
    for side in SIDES:
        r, exact = report.vs_random[side], report.vs_random_exact[side]
        lines.append(
            f"  as {side}: win {pct(r['win'])}  draw {pct(r['draw'])}  loss {pct(r['loss'])}"
            f"   (exact {pct(exact['win']).strip()}, limit {pct(report.limits[side]).strip()})"
        )
    lines.append("Against minimax (every line of its best moves):")
    for side in SIDES:
        m = report.vs_minimax[side]
        lines.append(f"  as {side}: {m['win'] + m['draw'] + m['loss']} lines: {m['win']} won, {m['draw']} drawn, {m['loss']} lost")
    lines.append("Exhaustive check (every line of play an opponent can choose):")
    for side in SIDES:
        e = report.exhaustive[side]
        lines.append(f"  as {side}: {e['lines']} lines: {e['win']} won, {e['draw']} drawn, {e['loss']} lost")
    verdict = "unbeatable" if report.unbeatable else "BEATABLE"
    lines.append(f"Lost lines: {report.lost_lines} ({verdict}).")
    lines.append(
        "Win rates within one percentage point of the limits: "
        + ("yes" if report.within_one_point else "NO")
        + "."
    )
    return lines
