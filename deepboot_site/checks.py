"""System checks for DeepBoot's own settings, so a typo fails at start-up, not on a request."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def api_rate_is_valid(app_configs, **kwargs):
    from .ratelimit import parse_rate

    try:
        parse_rate(settings.DEEPBOOT_API_RATE)
    except ValueError as exc:
        return [Error(str(exc), hint="Set DEEPBOOT_API_RATE like 30/m, 5/s or 1000/h.", id="deepboot.E001")]
    return []
