"""Template filters for showing numbers people read at a glance, and names without server paths."""

import re

from django import template

from registry.metric_display import seconds_text

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


# An absolute POSIX or Windows path, up to whitespace, a bracket or a comma.
_ABSOLUTE_PATH = re.compile(r"(?:(?<![\w.~])/|\b[A-Za-z]:[\\/])[^\s(),]+")


@register.filter
def without_paths(value):
    """Text with every absolute path replaced by its last name, so public pages show a data set
    as "caltech101", never the server's folders: "demo (/srv/var/data/demo)" -> "demo (demo)"."""
    if not isinstance(value, str):
        return value

    def last_name(match):
        parts = [part for part in re.split(r"[\\/]", match.group(0)) if part]
        return parts[-1] if parts else ""

    return _ABSOLUTE_PATH.sub(last_name, value)


@register.filter
def duration(seconds):
    """Seconds as people read a run's length: "42s", "3m 05s", "1h 02m"; empty for None."""
    return seconds_text(seconds)


@register.filter
def class_label(value):
    """A demo data set's class label in the active language (other labels as they are)."""
    from deepboot_site.labels import display_label

    return display_label(value)
