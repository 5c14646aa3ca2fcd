from django.apps import AppConfig


class DeepBootSiteConfig(AppConfig):
    name = "deepboot_site"
    verbose_name = "DeepBoot model registry"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
