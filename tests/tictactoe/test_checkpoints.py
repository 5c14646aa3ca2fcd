"""A periodic evaluation: the judge's figures, how two compare, the limits, what a run records."""

from deepboot.hooks import TrainHooks
from tictactoe import checkpoints, evaluate


def checkpoint(episode, lost_x=0, lost_o=0, win_x=0.99, win_o=0.91):
    return checkpoints.Checkpoint(episode, steps=0, seconds=1.0, epsilon=0.1, loss=0.0,
                                  lost_lines_x=lost_x, lost_lines_o=lost_o, win_x=win_x, win_o=win_o)


def test_fewer_lost_lines_rank_above_more_wins():
    assert checkpoint(1, lost_o=0, win_x=0.5).rank() > checkpoint(2, lost_o=1, win_x=1.0).rank()
    assert checkpoint(1, win_x=0.99).rank() > checkpoint(2, win_x=0.98).rank()


def test_the_first_checkpoint_within_one_point_of_the_limits_is_found():
    limits = {"X": 0.9948, "O": 0.9164}
    history = [checkpoint(100, lost_o=2), checkpoint(200, win_o=0.80), checkpoint(300), checkpoint(400)]
    assert checkpoints.first_within_limits(history, limits).episode == 300
    assert checkpoints.first_within_limits(history[:2], limits) is None


def test_the_judge_scores_the_perfect_values_unbeatable(perfect_q):
    found = checkpoints.judge(perfect_q, episode=5, seconds=2.0, epsilon=0.5, losses=[1.0, 3.0])
    assert found.unbeatable and found.loss == 2.0 and found.steps == 0
    assert found.within_limits(evaluate.limit_win_rates())


def test_a_checkpoint_is_said_and_recorded_at_its_episode():
    said, recorded = [], []
    hooks = TrainHooks(log_epoch=lambda epoch, metrics, stage=None: recorded.append((epoch, metrics, stage)))
    hooks.say = said.append
    checkpoints.report(hooks, checkpoint(300, lost_x=1))
    assert said == ["episode    300: lost lines X 1 O 0; exact win vs random X 99.00% O 91.00%; epsilon 0.100; 1s"]
    assert recorded == [(300, {"lost_lines_x": 1, "lost_lines_o": 0, "win_x": 0.99, "win_o": 0.91,
                               "epsilon": 0.1, "loss": 0.0}, None)]
