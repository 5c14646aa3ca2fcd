"""Remove tic-tac-toe games last played long ago (finished or abandoned) and expired sessions."""

from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from tictactoe import service


class Command(BaseCommand):
    help = (
        "Delete games (and their moves) last played more than --days ago, finished or abandoned, "
        "then expired sessions (Django's clearsessions). `make run` runs it at start."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=float, default=None,
            help=f"Keep games played within this many days (default DEEPBOOT_GAME_RETENTION_DAYS, "
                 f"now {settings.DEEPBOOT_GAME_RETENTION_DAYS:g}).",
        )

    def handle(self, *args, days=None, **options):
        days = settings.DEEPBOOT_GAME_RETENTION_DAYS if days is None else days
        if not days >= 0:
            raise CommandError(f"--days must be 0 or more, not {days}.")
        removed, moves = service.prune(timedelta(days=days))
        call_command("clearsessions")
        self.stdout.write(f"Removed {removed} games ({moves} moves) last played over {days:g} days ago, and expired sessions.")
