from django.apps import AppConfig


class DeepBootSiteConfig(AppConfig):
    name = "deepboot_site"
    verbose_name = "DeepBoot model registry"
