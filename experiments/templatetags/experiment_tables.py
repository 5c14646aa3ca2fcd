"""Filters of the experiment tables: a Summary as 'mean ± std', and a number for a data-* attribute."""

from django import template

from experiments import stats

register = template.Library()


@register.filter
def summary(value, signed=False):
    return stats.format_summary(value, signed=bool(signed))


@register.filter
def plain_number(value):
    """The number as scripts and tests parse it: not localised, full precision."""
    return "" if value is None else repr(float(value))
