"""Flags generated from the learners' config dataclasses: one flag per field, the real defaults."""

import argparse
import dataclasses

import pytest

from deepboot import cli
from tictactoe import dqn, train


def parser():
    p = argparse.ArgumentParser()
    cli.add_config_arguments(p, train.CONFIGS)
    return p


@pytest.mark.parametrize("algo", train.ALGORITHMS)
def test_every_field_of_every_config_is_a_flag(algo):
    flags = {a.dest for a in parser()._actions}
    assert {f.name for f in dataclasses.fields(train.CONFIGS[algo])} <= flags


@pytest.mark.parametrize("algo", train.ALGORITHMS)
def test_no_flags_give_the_dataclass_defaults(algo):
    options = vars(parser().parse_args([]))
    assert cli.config_from_options(train.CONFIGS[algo], options) == train.CONFIGS[algo]()


def test_the_help_states_each_field_docstring_and_its_real_default():
    help_of = {a.dest: a.help for a in parser()._actions}
    assert help_of["gamma"] == f"Discount per move (below 1, a quicker win is worth more) (dqn only; default {dqn.DQNConfig.gamma})."
    assert "default 6,000 (dqn), 4,000 (dqn-teacher), 50,000 (qlearning)" in help_of["episodes"]
    assert "dqn-teacher only; default 2.0" in help_of["unsafe_penalty"]


def test_flags_are_typed_and_choices_come_from_the_annotation():
    options = vars(parser().parse_args(["--opponent", "mix", "--gamma", "0.5", "--episodes", "7", "--no-symmetries"]))
    config = cli.config_from_options(dqn.DQNConfig, options)
    assert (config.opponent, config.gamma, config.episodes, config.symmetries) == ("mix", 0.5, 7, False)
    with pytest.raises(SystemExit):
        parser().parse_args(["--opponent", "nobody"])


def test_flags_of_another_learner_are_named():
    options = vars(parser().parse_args(["--unsafe-penalty", "1", "--alpha", "0.1"]))
    assert cli.foreign_flags(dqn.DQNConfig, train.CONFIGS, options) == ["--alpha", "--unsafe-penalty"]


def test_an_optional_field_becomes_a_flag_of_its_type():
    from typing import Optional

    @dataclasses.dataclass(frozen=True)
    class Sizes:
        image_size: int | None = None
        """Resize images to S x S (default: the network's own)."""
        grid: Optional[int] = None
        """Cells per side."""

    p = argparse.ArgumentParser()
    cli.add_config_arguments(p, {"sizes": Sizes})
    options = vars(p.parse_args(["--image-size", "96"]))
    assert cli.config_from_options(Sizes, options) == Sizes(image_size=96, grid=None)
    with pytest.raises(SystemExit):
        p.parse_args(["--grid", "seven"])
