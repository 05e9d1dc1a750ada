"""Small display helpers: status badges, durations and vendor links."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.html import format_html

from cobrowse_portal.vendorkit.safeurl import safe_url

from ..choices import BADGES
from ..urlcache import url_args

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


def _total_seconds(value) -> int | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


#: Units a person writes, largest first: (seconds, singular, plural).
_UNITS = ((86400, "day", "days"), (3600, "h", "h"), (60, "min", "min"), (1, "s", "s"))


@register.filter
def duration(value):
    """Seconds (int, float, str or timedelta) as a person writes them: "45 s",
    "15 min", "2 h 5 min", "1 day", "3 days 4 h". The two largest units that
    are not zero, the rest dropped (not rounded up); "—" when unknown or negative."""
    total = _total_seconds(value)
    if total is None or total < 0:
        return "—"
    if total == 0:
        return "0 s"
    parts = []
    for size, one, many in _UNITS:
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
        elif parts:
            break  # "1 h 0 min 5 s" reads "1 h": keep the two units next to each other
        if len(parts) == 2:
            break
    return " ".join(parts)


@register.filter
def safe_href(value):
    """The value if it is an absolute http(s) URL, else "" (vendorkit.safeurl):
    `{% with link=s.follower_link|safe_href %}{% if link %}<a href="{{ link }}">`."""
    return safe_url(value)


@register.simple_tag
def vendor_link(value, label=None, copy=False, css=""):
    """A vendor URL as a link that opens in a new tab (and a copy button with
    `copy=True`) when it is an absolute http(s) URL; anything else as plain text,
    never in an href or a data attribute; "—" when empty."""
    url = safe_url(value)
    if not url:
        if value in (None, ""):
            return "—"
        return format_html('<span class="mono unsafe-url">{}</span>', value)
    link = format_html(
        '<a{} href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
        format_html(' class="{}"', css) if css else "",
        url,
        label or url,
    )
    if copy:
        link = format_html(
            '{} <button type="button" class="linklike small" data-copy="{}">'
            "Copy</button>",
            link,
            url,
        )
    return link


@register.simple_tag
def row_url(name, *args):
    """`{% url name a b %}` for integer arguments, for links repeated per table row:
    the URL is reversed once per name (core.urlcache), then formatted."""
    return url_args(name, *args)
