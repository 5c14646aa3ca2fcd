from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    """The book's comparisons (augmentation, two-stage, optimizers, ...) as commands that train
    each variant over seeds with the apps' own train_* commands, and the pages that show them."""

    name = "experiments"
    verbose_name = "Experiments"
