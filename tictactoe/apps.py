from django.apps import AppConfig

from registry.slots import Slot, TaskSlots


class TictactoeConfig(AppConfig):
    name = "tictactoe"
    verbose_name = "Tic-tac-toe"
    # What the registry serves and imports for this app (registry/slots.py), by dotted path.
    slots = TaskSlots(
        "tictactoe",
        slots=(
            Slot(
                "tictactoe",
                "dqn",
                "python manage.py bootstrap  (or: python manage.py train_tictactoe --algo dqn --activate)",
                network="tictactoe_dqn",
                weight_layers=3,
            ),
        ),
        loader="tictactoe.networks.load_model",
        check="tictactoe.accepts.check",
        warm="tictactoe.service.active_agent",
    )
    bootstrap_demo = "tictactoe.bootstrap.make_demo"
