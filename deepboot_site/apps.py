from django.apps import AppConfig


class DeepBootSiteConfig(AppConfig):
    """The site: settings, URLs, middleware, the home and error pages, shared template filters and
    the first-run commands. It owns no models (the registry app does)."""

    name = "deepboot_site"
    label = "site"
    verbose_name = "DeepBoot site"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
