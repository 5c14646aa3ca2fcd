"""Template filters for showing numbers people read at a glance."""

from django import template

register = template.Library()


@register.filter
def metric(value):
    """Floats to four decimals, whole numbers with thousands separators, the rest as is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value
