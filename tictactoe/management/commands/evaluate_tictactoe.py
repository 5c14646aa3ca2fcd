"""Evaluate the active tic-tac-toe agent: vs random (as X and O), vs minimax, and every line of play."""

import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry import registry
from registry.models import TrainedModel
from tictactoe import evaluate, service


class Command(BaseCommand):
    help = (
        "Play the active agent against a uniformly random player as X and as O, against the "
        "minimax player, and through every line of play an opponent can choose; the number of "
        "lost lines must be 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--games", type=int, default=10_000, help="Games per side against random (default 10000).")
        parser.add_argument("--json", metavar="PATH", help="Also write the full report as JSON to PATH.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the random player (default 0).")
        parser.add_argument(
            "--arch", choices=sorted(service.LOADERS), default=service.ARCHITECTURE,
            help="Which slot's agent: the active one, or for dqn-teacher/qlearning the newest registered when none is active (default dqn).",
        )

    def handle(self, *args, games, seed, arch, **options):
        json_path = options.get("json")
        if games < 1:
            raise CommandError("--games must be at least 1.")
        try:
            active = service.agent_to_evaluate(arch)
        except registry.ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        record = TrainedModel.objects.filter(pk=active.model_id).first()
        state = "" if record is None or record.active else ", the newest registered; none is active"
        self.stdout.write(f"Agent: model #{active.model_id} {service.TASK}/{arch} ({record.path if record else '?'}{state})")
        report = evaluate.evaluate(active.agent.q_function, games=games, seed=seed)
        for line in evaluate.format_report(report):
            self.stdout.write(line)
        if json_path:
            path = Path(json_path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(jsonlib.dumps({"model": active.model_id, **report.to_dict()}, indent=2))
            except OSError as exc:
                raise CommandError(f"Could not write {path}: {exc}") from None
            self.stdout.write(f"Wrote {path}")
        if report.unbeatable and report.within_one_point:
            self.stdout.write(self.style.SUCCESS("The agent never loses and plays within one point of the limits."))
        else:
            self.stdout.write(self.style.WARNING("The agent falls short of the target."))

