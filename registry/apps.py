from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """The model registry: trained models and their slots, activations, training-run records and
    their pages, and importing a model trained elsewhere.

    Its label stays "deepboot_site", the package these models lived in before: the tables, the
    migration history and the admin's URLs made then keep their names, so databases made before
    the move migrate on as they are."""

    name = "registry"
    label = "deepboot_site"
    verbose_name = "DeepBoot model registry"
