"""Train a tic-tac-toe agent, evaluate it, and record it in the model registry."""

import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from registry import registry, training
from deepboot import cli
from tictactoe import evaluation, trainer

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
        parser.add_argument("--algo", choices=trainer.ALGORITHMS, default="dqn", help="Learner (default dqn).")
        parser.add_argument("--activate", action="store_true", help="Make the new agent the active one.")
        parser.add_argument("--eval-games", type=int, default=10_000, help="Games per side in the final evaluation (default 10000).")
        cli.add_config_arguments(parser, trainer.CONFIGS)
        training.add_training_arguments(parser)

    def handle(self, *args, **options):
        algo = options["algo"]
        for name in POSITIVE:
            if options.get(name) is not None and options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        cls = trainer.CONFIGS[algo]
        foreign = cli.foreign_flags(cls, trainer.CONFIGS, options)
        if foreign:
            raise CommandError(f"{', '.join(foreign)} do(es) not apply to --algo {algo}.")
        try:
            config = cli.config_from_options(cls, options)
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Training {algo}: {config}")
        with training.start_run(
            "train_tictactoe", options, task="tictactoe", architecture=algo, stdout=self.stdout,
            total=config.episodes, unit="episode",
        ) as run:
            out_dir = settings.MODELS_DIR / "tictactoe" / f"{algo}-seed{config.seed}-run{run.record.pk}"
            if not run.is_chief:  # another worker of a multi-worker run: it trains, the chief keeps
                out_dir = Path(tempfile.mkdtemp(prefix="deepboot-worker-"))
            progress = _Progress(config.episodes, run.verbose)

            def on_checkpoint(c):
                progress.clear()
                self.stdout.write(
                    f"episode {c.episode:>6}: lost lines X {c.lost_lines_x} O {c.lost_lines_o}; "
                    f"exact win vs random X {100 * c.win_x:.2f}% O {100 * c.win_o:.2f}%; "
                    f"epsilon {c.epsilon:.3f}; {c.seconds:.0f}s"
                )
                run.log_epoch(
                    c.episode,
                    {"lost_lines_x": c.lost_lines_x, "lost_lines_o": c.lost_lines_o,
                     "win_x": c.win_x, "win_o": c.win_o, "epsilon": c.epsilon, "loss": getattr(c, "loss", 0.0)},
                )

            trained = trainer.train_and_save(
                algo,
                config,
                out_dir,
                eval_games=options["eval_games"],
                jit_compile=run.jit,
                scope=run.strategy.scope,
                resume_dir=run.backup_dir / algo,
                on_episode=progress.update,
                on_checkpoint=on_checkpoint,
            )
            progress.clear()
            if not run.is_chief:
                shutil.rmtree(out_dir, ignore_errors=True)
                self.stdout.write("This worker's part is done; the chief saves and registers the agent.")
                return
            for name, path in (("model", trained.path), ("curves", trained.curves), ("evaluation", trained.report_path)):
                run.add_artifact(name, path)
            record = registry.register(
                "tictactoe",
                algo,
                trained.path,
                activate=options["activate"],
                input_size=[18],
                preprocessing=trainer.PREPROCESSING,
                layers=trained.layers,
                parameters=trained.parameters,
                dataset=trainer.dataset_of(algo, config),
                metrics=evaluation.metrics_of(trained.report),
                training_run={**run.summary(), **trained.summary},
            )
            run.set_model(record)
        for line in evaluation.format_report(trained.report):
            self.stdout.write(line)
        s = trained.summary
        if s.get("episodes_to_unbeatable"):
            self.stdout.write(
                f"Unbeatable and within one point of the limits (exact) after {s['episodes_to_unbeatable']} "
                f"episodes, {s['seconds_to_unbeatable']}s."
            )
        self.stdout.write(f"Trained in {s['seconds']}s. Saved {trained.path} and {trained.curves.name}.")
        state = "and activated it" if record.active else "(not active: python manage.py activate_model %d)" % record.pk
        self.stdout.write(self.style.SUCCESS(f"Registered model #{record.pk} {state}."))


class _Progress:
    """A Keras progress bar over episodes, redrawn every 1% of the run (on a terminal; a log that
    is not one gets the evaluation lines and one line at the end: verbose 2)."""

    def __init__(self, total, verbose=1):
        import keras

        self.bar = keras.utils.Progbar(total, unit_name="episode", stateful_metrics=["epsilon", "loss"],
                                       verbose=verbose)
        self.every = max(total // 100, 1)
        self.total = total
        self.drawn = False

    def update(self, episode, values):
        if episode % self.every == 0 or episode == self.total:
            self.bar.update(episode, values=list(values.items()))
            self.drawn = True

    def clear(self):
        """End the bar's line before other output (a terminal redraws the bar in place)."""
        if self.drawn and getattr(self.bar, "_dynamic_display", False):
            sys.stdout.write("\n")
            sys.stdout.flush()
        self.drawn = False
