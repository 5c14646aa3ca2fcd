"""Train a tic-tac-toe agent, evaluate it, and record it in the model registry: parse the flags into
the learner's config, train it in a recorded run (tictactoe/train.py), register it
(tictactoe/register.py) and report."""

import dataclasses
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deepboot import cli
from registry import training
from tictactoe import evaluate
from tictactoe.register import register
from tictactoe.train import ALGORITHMS, CONFIGS, algorithm_of, train

# Counts that must be at least 1 when given.
POSITIVE = ("episodes", "eval_every", "eval_games", "hidden_units", "batch_size", "buffer_size",
            "train_frequency", "target_network_frequency")


class Command(BaseCommand):
    help = (
        "Train a tic-tac-toe agent: the model-free DQN (default; learns from game outcomes alone, "
        "--opponent self|random|minimax|mix), dqn-teacher (a network fitted to exact expected scores "
        "plus the minimax solver's penalty) or tabular Q-learning, with exact evaluations as it goes; "
        "save the agent and its learning curve under var/models/tictactoe/, evaluate the saved agent "
        "and register it. Deterministic for a given --seed. The learners' settings below come from "
        "their config dataclasses (tictactoe/dqn.py, dqn_teacher.py, qlearning.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--algo", choices=ALGORITHMS, default="dqn", help="Learner (default dqn).")
        parser.add_argument("--activate", action="store_true", help="Make the new agent the active one.")
        cli.add_config_arguments(parser, CONFIGS)
        training.add_training_arguments(parser)

    def handle(self, *args, **options):
        config = config_of(options)
        algo = algorithm_of(config)
        self.stdout.write(f"Training {algo}: {config}")
        with training.start_run(
            "train_tictactoe", options, task="tictactoe", architecture=algo, stdout=self.stdout,
            total=config.episodes, unit="episode",
        ) as run:
            progress = EpisodeProgress(config.episodes, run.verbose, self.stdout)
            hooks = dataclasses.replace(run.hooks(extra={"on_episode": progress.update}), stdout=progress)
            out_dir = run.output_dir(settings.MODELS_DIR / "tictactoe" / f"{algo}-seed{config.seed}-run{run.record.pk}")
            result = train(config, out_dir, hooks)
            progress.clear()
            record = register(result, run, activate=options["activate"])
            if record is None:
                self.stdout.write("This worker's part is done; the chief saves and registers the agent.")
                return
        for line in evaluate.format_report(result.report):
            self.stdout.write(line)
        s = result.summary
        if s.get("episodes_to_unbeatable"):
            self.stdout.write(
                f"Unbeatable and within one point of the limits (exact) after {s['episodes_to_unbeatable']} "
                f"episodes, {s['seconds_to_unbeatable']}s."
            )
        self.stdout.write(f"Trained in {s['seconds']}s. Saved {result.path} and {result.curves.name}.")
        state = "and activated it" if record.active else "(not active: python manage.py activate_model %d)" % record.pk
        self.stdout.write(self.style.SUCCESS(f"Registered model #{record.pk} {state}."))


def config_of(options):
    """The config of --algo with the flags given; CommandError for a bad value or another learner's flag."""
    for name in POSITIVE:
        if options.get(name) is not None and options[name] < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
    cls = CONFIGS[options["algo"]]
    foreign = cli.foreign_flags(cls, CONFIGS, options)
    if foreign:
        raise CommandError(f"{', '.join(foreign)} do(es) not apply to --algo {options['algo']}.")
    try:
        return cli.config_from_options(cls, options)
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from None


class EpisodeProgress:
    """A Keras progress bar over episodes, redrawn every 1% of the run (on a terminal; a log that
    is not one gets the evaluation lines and one line at the end: verbose 2). It is also where the
    trainer's hooks say their lines: the bar's line is ended first (a terminal redraws it in place)."""

    def __init__(self, total, verbose, stdout):
        import keras

        self.bar = keras.utils.Progbar(total, unit_name="episode", stateful_metrics=["epsilon", "loss"],
                                       verbose=verbose)
        self.every = max(total // 100, 1)
        self.total = total
        self.stdout = stdout
        self.drawn = False

    def update(self, episode, values):
        if episode % self.every == 0 or episode == self.total:
            self.bar.update(episode, values=list(values.items()))
            self.drawn = True

    def write(self, text):
        self.clear()
        self.stdout.write(text.rstrip("\n"))

    def clear(self):
        if self.drawn and getattr(self.bar, "_dynamic_display", False):
            sys.stdout.write("\n")
            sys.stdout.flush()
        self.drawn = False
