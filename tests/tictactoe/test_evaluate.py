"""The judge: games vs random, lines vs minimax, the exhaustive check, and the ceiling."""

import numpy as np

from tictactoe import engine, evaluate


def lowest_cell(boards):
    """A weak agent: always the lowest empty cell."""
    return np.tile(-np.arange(9, dtype=np.float32), (len(boards), 1))


def test_the_ceiling_is_9948_as_x_and_9164_as_o():
    limits = evaluate.limit_win_rates()
    assert round(100 * limits["X"], 2) == 99.48
    assert round(100 * limits["O"], 2) == 91.64


def test_policy_table_covers_every_position_where_someone_is_to_move(perfect_q):
    policy = evaluate.policy_table(perfect_q)
    assert len(policy) == sum(1 for b in engine.all_positions() if not engine.is_over(b))
    assert all(move in engine.legal_moves(board) for board, move in policy.items())


def test_a_perfect_agent_loses_no_line_and_matches_the_ceiling(perfect_q):
    report = evaluate.evaluate(perfect_q, games=2000, seed=3)
    assert report.unbeatable and report.lost_lines == 0
    for side in "XO":
        assert report.vs_minimax[side]["loss"] == 0 and report.vs_minimax[side]["win"] == 0
        assert report.exhaustive[side]["lines"] == sum(report.exhaustive[side][k] for k in ("win", "draw", "loss"))
        assert abs(report.vs_random_exact[side]["win"] - report.limits[side]) < 1e-9
        # 2,000 games: the sampled rate is within a few standard errors of the exact one.
        assert abs(report.vs_random[side]["win"] - report.vs_random_exact[side]["win"]) < 0.025
    assert report.to_dict()["unbeatable"] is True


def test_a_weak_agent_loses_lines_and_games():
    report = evaluate.evaluate(lowest_cell, games=500, seed=0)
    assert report.lost_lines > 0
    assert not report.unbeatable and not report.within_one_point
    assert report.vs_minimax["X"]["loss"] + report.vs_minimax["O"]["loss"] > 0
    assert report.vs_random["O"]["loss"] > 0


def test_exhaustive_counts_every_opponent_line():
    # Against a policy that plays the lowest cell, each line is fixed by the opponent's choices;
    # count them independently by walking the tree.
    policy = evaluate.policy_table(lowest_cell)

    def count(board, mark):
        if engine.is_over(board):
            return 1
        if engine.to_move(board) == mark:
            return count(engine.play(board, policy[board]), mark)
        return sum(count(engine.play(board, m), mark) for m in engine.legal_moves(board))

    for side in "XO":
        assert evaluate.exhaustive(policy, side).total == count(engine.EMPTY_BOARD, side)


def test_games_against_random_are_seeded():
    policy = evaluate.policy_table(lowest_cell)
    a = evaluate.play_random(policy, "X", 300, seed=5)
    b = evaluate.play_random(policy, "X", 300, seed=5)
    c = evaluate.play_random(policy, "X", 300, seed=6)
    assert a == b and a.total == 300
    assert a != c


def test_exact_rates_sum_to_one_and_match_a_long_sample():
    policy = evaluate.policy_table(lowest_cell)
    exact = evaluate.exact_vs_random(policy, "O")
    assert abs(sum(exact.values()) - 1) < 1e-9
    sampled = evaluate.play_random(policy, "O", 4000, seed=1).rates()
    assert abs(sampled["win"] - exact["win"]) < 0.03


def test_report_text_and_metrics():
    report = evaluate.evaluate(lowest_cell, games=100)
    text = "\n".join(evaluate.format_report(report))
    assert "Exhaustive check" in text and f"Lost lines: {report.lost_lines}" in text
    metrics = evaluate.metrics_of(report)
    assert metrics["lost_lines"] == report.lost_lines > 0
    assert metrics["games"] == 100
