"""Games against the DQN, stored move by move as they happen."""

import uuid

from django.db import models

from . import engine


class Game(models.Model):
    """One game between a browser session (the human) and the agent."""

    class Status(models.TextChoices):
        PLAYING = "playing"
        HUMAN_WON = "human_won"
        AI_WON = "ai_won"
        DRAW = "draw"

    class Player(models.TextChoices):
        HUMAN = "human"
        AI = "ai"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.CharField(max_length=64, db_index=True, help_text="Session key of the browser that started it.")
    board = models.CharField(max_length=9, default="." * 9, help_text="Row-major, X / O / '.'.")
    x_player = models.CharField(max_length=5, choices=Player.choices, help_text="Who plays X (X moves first).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLAYING)
    agent = models.ForeignKey(
        "deepboot_site.TrainedModel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The model that made the agent's last move.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self):
        return f"{self.id} {self.board} ({self.status})"

    @property
    def human_mark(self):
        return "X" if self.x_player == self.Player.HUMAN else "O"

    @property
    def ai_mark(self):
        return "O" if self.x_player == self.Player.HUMAN else "X"

    @property
    def turn(self):
        """"human" or "ai" while playing; None once the game is over."""
        if self.status != self.Status.PLAYING:
            return None
        return "human" if engine.to_move(self.board) == self.human_mark else "ai"

    def apply(self, player, cell, q_values=None):
        """Play `cell` on this game in memory (the board and the status; the engine checks the
        rules) and return the unsaved Move row that records it; the caller stores both."""
        move = Move(game=self, number=10 - self.board.count("."), player=player, mark=engine.to_move(self.board),
                    cell=cell, q_values=q_values)
        self.board = engine.play(self.board, cell)
        mark = engine.winner(self.board)
        if mark is not None:
            self.status = self.Status.HUMAN_WON if mark == self.human_mark else self.Status.AI_WON
        elif "." not in self.board:
            self.status = self.Status.DRAW
        return move


class Move(models.Model):
    """One move of a game, numbered from 1."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="moves")
    number = models.PositiveSmallIntegerField()
    player = models.CharField(max_length=5, choices=Game.Player.choices)
    mark = models.CharField(max_length=1)
    cell = models.PositiveSmallIntegerField()
    q_values = models.JSONField(null=True, blank=True, help_text="The agent's Q-values when it chose this move.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["game", "number"]
        constraints = [models.UniqueConstraint(fields=["game", "number"], name="one_move_per_number")]

    def __str__(self):
        return f"{self.game_id} #{self.number}: {self.mark} at {self.cell}"
