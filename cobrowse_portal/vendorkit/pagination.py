"""Pagination strategies. Each yields `Page`s whose `cursor` is enough to resume
right after that page, so a sync can save its place after every page."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import MalformedResponse

if TYPE_CHECKING:
    from .client import BaseVendorClient


@dataclass
class Page:
    items: list[Any]
    cursor: dict[str, Any] = field(default_factory=dict)
    total: int | None = None


def _items(body: Any, key: str) -> list[Any]:
    # Lenient: some endpoints answer a bare list where others wrap it.
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        items = body.get(key)
        if items is None:
            return []
        if isinstance(items, list):
            return items
    raise MalformedResponse(f"expected a list under {key!r}")


def _total(value: Any) -> int | None:
    """A total count, also when sent as text ("123"); None when it is no number
    (paging then stops on an empty page)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class NextUrlPagination:
    """`{next, previous, results}` bodies: follow `next` until it is null."""

    def __init__(self, results_key: str = "results", next_key: str = "next") -> None:
        self.results_key, self.next_key = results_key, next_key

    def pages(
        self,
        client: BaseVendorClient,
        path: str,
        params: dict | None = None,
        resume: dict | None = None,
    ) -> Iterator[Page]:
        url: str | None = path
        if resume and resume.get("next"):
            url, params = resume["next"], None
        while url:
            body = client.get_json(url, params=params)
            nxt = body.get(self.next_key) if isinstance(body, dict) else None
            # The next link carries our key; never store it, the client re-adds it.
            nxt = client.strip_auth(nxt) if nxt else None
            total = body.get("count") if isinstance(body, dict) else None
            yield Page(_items(body, self.results_key), {"next": nxt}, total)
            url, params = nxt, None


class SkipLimitPagination:
    """`skip` + `limit` requests with a total count in the body."""

    def __init__(
        self,
        *,
        items_key: str,
        total_key: str = "total",
        skip_param: str = "skip",
        limit_param: str = "limit",
        limit: int = 100,
        in_body: bool = False,
    ) -> None:
        self.items_key, self.total_key = items_key, total_key
        self.skip_param, self.limit_param, self.limit = skip_param, limit_param, limit
        self.in_body = in_body

    def pages(self, client, path, params=None, resume=None, method="GET"):
        skip = int((resume or {}).get("skip", 0))
        while True:
            query = {
                **(params or {}),
                self.skip_param: skip,
                self.limit_param: self.limit,
            }
            if self.in_body:
                body = client.request_json(method, path, json=query)
            else:
                body = client.request_json(method, path, params=query)
            items = _items(body, self.items_key)
            total = _total(body.get(self.total_key) if isinstance(body, dict) else None)
            skip += len(items)
            done = not items or (total is not None and skip >= total)
            yield Page(items, {"skip": skip}, total)
            if done:
                return


class IdCursorPagination:
    """`after_id` cursor with `has_more` and `last_id` in the body."""

    def __init__(
        self,
        *,
        items_key: str,
        cursor_param: str = "after_id",
        has_more_key: str = "has_more",
        last_id_key: str = "last_id",
    ) -> None:
        self.items_key, self.cursor_param = items_key, cursor_param
        self.has_more_key, self.last_id_key = has_more_key, last_id_key

    def pages(self, client, path, params=None, resume=None):
        after = (resume or {}).get("after")
        while True:
            query = dict(params or {})
            if after is not None:
                query[self.cursor_param] = after
            body = client.get_json(path, params=query)
            items = _items(body, self.items_key)
            last = body.get(self.last_id_key) if isinstance(body, dict) else None
            if last is None and items and isinstance(items[-1], dict):
                last = items[-1].get("id")
            more = (
                bool(body.get(self.has_more_key)) if isinstance(body, dict) else False
            )
            if last is not None:
                after = last
            yield Page(items, {"after": after})
            if not more or not items:
                return


class TimeWindowPagination:
    """Walk [start, end) in fixed windows, one request (or inner pager) per window."""

    def __init__(
        self,
        *,
        start_param: str,
        end_param: str,
        window: timedelta,
        items_key: str,
        fmt=lambda d: d.isoformat(),
    ) -> None:
        self.start_param, self.end_param = start_param, end_param
        self.window, self.items_key, self.fmt = window, items_key, fmt

    def pages(
        self, client, path, start: datetime, end: datetime, params=None, resume=None
    ):
        cursor = datetime.fromisoformat(resume["window_start"]) if resume else start
        while cursor < end:
            upper = min(cursor + self.window, end)
            query = {
                **(params or {}),
                self.start_param: self.fmt(cursor),
                self.end_param: self.fmt(upper),
            }
            body = client.get_json(path, params=query)
            yield Page(
                _items(body, self.items_key), {"window_start": upper.isoformat()}
            )
            cursor = upper


_DONE = object()
#: This thread's read-ahead threads still running: (stop event, thread).
_started = threading.local()


def stop_prefetching(timeout: float = 30) -> None:
    """Stop and join the read-ahead threads this thread started and has not
    finished with. A consumer that raises inside its `for page in prefetch(...)`
    loop leaves the generator suspended: its cleanup runs only when it is
    collected, and the exception's traceback keeps the failing frame (and the
    generator in its locals) alive as long as anything holds it, a log record's
    `exc_info` for one. Its thread would go on fetching a page or two and wait
    for a reader. `execute_stream` calls this
    after every stream."""
    running = getattr(_started, "workers", None) or []
    _started.workers = []
    for stop, _worker in running:
        stop.set()
    for _stop, worker in running:
        worker.join(timeout=timeout)


def prefetch(pages: Iterable[Page], depth: int = 2) -> Iterator[Page]:
    """Fetch the next pages in a background thread while the caller stores this one.

    The vendor's answer time and our JSON decoding then overlap the database
    write (SQLite and psycopg release the GIL while they work). Order is kept,
    at most `depth` pages wait in memory, and an error in the fetching thread is
    raised in the caller at the page where it happened.
    """
    from django.db import connections

    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slots.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)
        finally:
            connections.close_all()  # a database cache may have opened one

    worker = threading.Thread(target=produce, name="page-prefetch", daemon=True)
    if getattr(_started, "workers", None) is None:
        _started.workers = []
    entry = (stop, worker)
    _started.workers.append(entry)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=30)
        workers = getattr(_started, "workers", None) or []  # closed elsewhere: none
        if entry in workers:
            workers.remove(entry)


def grouped(pages: Iterable[Page], rows: int = 1000) -> Iterator[Page]:
    """Consecutive pages joined into pages of at least `rows` items (the last
    one may hold fewer), each with the cursor of the last page it holds.

    For streams whose vendor pages are small (Upscope's 100 sessions): one
    write per group instead of per page. Every statement and commit has a fixed
    cost (and a long multi-row statement a parsing cost per value), so a
    thousand rows written at once cost far less than ten writes of a hundred.
    A failed run resumes after the last group stored, so it fetches again at
    most a group's pages. Items keep their order; a row the vendor sends twice
    across the pages is written once (the upsert keeps the later copy)."""
    items: list[Any] = []
    last: Page | None = None
    for page in pages:
        items.extend(page.items)
        last = page
        if len(items) >= rows:
            yield Page(items=items, cursor=page.cursor, total=page.total)
            items, last = [], None
    if last is not None:
        yield Page(items=items, cursor=last.cursor, total=last.total)
