from django.apps import AppConfig

from registry.slots import Slot


class TictactoeConfig(AppConfig):
    name = "tictactoe"
    verbose_name = "Tic-tac-toe"
    model_slots = [
        Slot(
            "tictactoe",
            "dqn",
            "python manage.py bootstrap  (or: python manage.py train_tictactoe --algo dqn --activate)",
            network="tictactoe_dqn",
            weight_layers=3,
            custom_objects=("tictactoe.networks",),
        ),
    ]
    bootstrap_demo = "tictactoe.bootstrap.make_demo"
