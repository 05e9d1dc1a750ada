"""DRF-style paging for `/history/` and `/webhooks/`.

Links are absolute and keep the caller's whole query (`api_key` included, as
DRF's links do), changing only the paging parameter: `?page=N` by default, or
`offset` (+ `limit`) when the caller pages that way. Surfly documents neither
the page size nor the page parameter; 100 per page is the sandbox's choice,
and `page_size` is accepted as a lenient extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest

from .api import not_found

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Window:
    offset: int
    size: int
    page: int | None  # None: offset/limit style

    @property
    def stop(self) -> int:
        return self.offset + self.size


def _positive(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def window(request: HttpRequest, default_size: int) -> Window:
    """Which slice the request asks for. A page that is not a positive number
    is DRF's 404 "Invalid page."; a bad `page_size` falls back to the default."""
    size = min(_positive(request.GET.get("page_size")) or default_size, MAX_PAGE_SIZE)
    if "offset" in request.GET or "limit" in request.GET:
        size = min(_positive(request.GET.get("limit")) or size, MAX_PAGE_SIZE)
        try:
            offset = max(0, int(request.GET.get("offset") or 0))
        except ValueError:
            offset = 0
        return Window(offset, size, None)
    raw = request.GET.get("page")
    page = _positive(raw) if raw not in (None, "") else 1
    if page is None:
        raise not_found("Invalid page.")
    return Window((page - 1) * size, size, page)


def _with_param(url: str, name: str, value: int | None) -> str:
    """`url` with query parameter `name` set (or removed when None)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    rest = [(k, v) for k, v in query if k != name]
    if value is not None:
        at = next((i for i, (k, _) in enumerate(query) if k == name), len(rest))
        rest.insert(min(at, len(rest)), (name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(rest)))


def links(
    request: HttpRequest, w: Window, has_next: bool
) -> tuple[str | None, str | None]:
    """(next, previous) as absolute URLs, or None at either end."""
    url = request.build_absolute_uri()
    if w.page is not None:
        nxt = _with_param(url, "page", w.page + 1) if has_next else None
        # DRF drops `page` from the link back to the first page.
        prev = None
        if w.page > 1:
            prev = _with_param(url, "page", w.page - 1 if w.page > 2 else None)
        return nxt, prev
    nxt = _with_param(url, "offset", w.stop) if has_next else None
    prev = None
    if w.offset > 0:
        back = w.offset - w.size
        prev = _with_param(url, "offset", back if back > 0 else None)
    return nxt, prev
