"""Small display helpers: status badges and durations."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.html import format_html

from ..choices import BADGES

register = template.Library()


@register.simple_tag
def badge(value, label=None):
    colour = BADGES.get(str(value), "grey")
    text = label or str(value).replace("_", " ")
    return format_html('<span class="badge badge-{}">{}</span>', colour, text)


@register.filter
def seconds(value):
    """Render seconds (int, str or timedelta) as '1h 02m 03s'."""
    if value in (None, ""):
        return "—"
    if isinstance(value, timedelta):
        total = int(value.total_seconds())
    else:
        try:
            total = int(float(value))
        except (TypeError, ValueError):
            return "—"
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{m}m {s:02d}s"
    return f"{s}s"
