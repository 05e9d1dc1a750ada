"""One URL renders the full page, or for an htmx request the named partial."""

from __future__ import annotations

from django.shortcuts import render


def is_partial(request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(
    request,
    template: str,
    context: dict,
    *,
    partial: str | None = None,
    status: int = 200,
):
    """Render `template`, or `template#partial` for a non-boosted htmx request."""
    name = f"{template}#{partial}" if partial and is_partial(request) else template
    return render(request, name, context, status=status)
