"""Rendered control-room pages, kept per process and keyed by the workspace's
write generation, so that the same table is not rendered 50 times a second and
a kept page can never hide a write.

**The generation.** `Workspace.index_generation` grows by one with every write a
cached page shows, in the writer's own transaction (atomic with the data: a
reader that sees the new rows sees the new generation, one that rolled back
leaves both):

- the activity index's write path (`vendorkit.activity`: bulk upserts, webhooks
  and edits through `SyncedModel.save()`, reconcile's and the vendor's removals,
  `update_rows`, the agent directory, usage rollups, the rebuild), through
  `bump_account()` / `bump()`;
- the directory's hand-made links (`core.directory`);
- sync runs and kept writes, which many call sites write (`save()`,
  `update()`, `create()`): by database triggers (`core` migration 0014).

It is read with the workspace itself (`core.auth`'s per-request query brings the
user's workspaces), so reading it costs nothing per request.

**The key** carries everything else a page depends on: the view and its URL
arguments, the whole query string, whether htmx asked for a fragment, the
workspace (and its name, zone, kind), the generation, the user's effective role
(and superuser flag), every field of the workspace's vendor accounts (read per
request for the sidebar anyway: a renamed or paused account is a new key), the
workspace's local date, and for pages with running times a time bucket (Live:
the second; "N minutes ago" pages: 10 seconds).

**What is never kept**: the shell (sidebar, workspace switcher, user menu: per
user and per request) and every CSRF token. A page is rendered with holes where
the shell goes; each token of this request's CSRF secret in the HTML is found
(every 64-character candidate is unmasked and compared) and replaced by a hole;
each answer fills the holes with its own shell and a fresh token. Requests with
a flash message waiting, other methods than GET/HEAD, and answers other than a
plain 200 HTML page are never kept. Entries live at most `MAX_AGE` seconds (a
bound, should a write ever bypass every path above) in a per-process LRU of
`MAX_ENTRIES`.

`settings.PAGE_CACHE = False` switches it off (every request renders).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.db import connections, router
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.middleware.csrf import _unmask_cipher_token, get_token
from django.utils.safestring import SafeString

MAX_ENTRIES = 512
MAX_BYTES = 2_000_000
MAX_AGE = 60.0

SIDEBAR_HOLE = "\x00pagecache:sidebar\x00"
TOPBAR_HOLE = "\x00pagecache:topbar\x00"
CSRF_HOLE = "\x00pagecache:csrf\x00"
_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")

_lock = threading.Lock()
_store: OrderedDict[tuple, tuple[float, str, str, tuple]] = OrderedDict()
stats = {"hits": 0, "misses": 0, "bypassed": 0}


# --- the generation ------------------------------------------------------------------
def bump(workspace_ids, *, using: str | None = None) -> None:
    """One more write in these workspaces: their kept pages are stale. Runs in the
    caller's transaction (so it commits or rolls back with the write)."""
    ids = sorted({int(i) for i in workspace_ids if i is not None})
    if not ids:
        return
    from .models import Workspace

    using = using or router.db_for_write(Workspace)
    connection = connections[using]
    qn = connection.ops.quote_name
    table = qn(Workspace._meta.db_table)
    column = qn("index_generation")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {column} + 1 "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))})",
            ids,
        )


def bump_account(account, *, using: str | None = None) -> None:
    """`bump()` the workspace of a vendor account (an account or its pk)."""
    workspace_id = getattr(account, "workspace_id", None)
    if workspace_id is not None:
        bump([workspace_id], using=using)
        return
    from .models import VendorAccount, Workspace

    using = using or router.db_for_write(Workspace)
    connection = connections[using]
    qn = connection.ops.quote_name
    column = qn("index_generation")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(Workspace._meta.db_table)} SET {column} = {column} + 1 "
            f"WHERE id IN (SELECT workspace_id FROM "
            f"{qn(VendorAccount._meta.db_table)} WHERE id = %s)",
            [int(getattr(account, "pk", account))],
        )


# --- the store -----------------------------------------------------------------------
def clear() -> None:
    with _lock:
        _store.clear()


def _get(key):
    with _lock:
        entry = _store.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del _store[key]
            return None
        _store.move_to_end(key)
        return entry


def _put(key, entry) -> None:
    with _lock:
        _store[key] = entry
        _store.move_to_end(key)
        while len(_store) > MAX_ENTRIES:
            _store.popitem(last=False)


def enabled() -> bool:
    return getattr(settings, "PAGE_CACHE", True)


def _messages_waiting(request) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


def _account_state(request) -> tuple:
    from .permissions import workspace_accounts

    return tuple(
        tuple(getattr(a, f.attname) for f in a._meta.concrete_fields)
        for a in workspace_accounts(request)
    )


def page_key(request, name: str, args, kwargs, bucket: float | None):
    """The key of this request's page, or None when it must not be kept."""
    if not enabled() or request.method not in ("GET", "HEAD"):
        return None
    workspace = getattr(request, "workspace", None)
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return None
    if _messages_waiting(request):
        return None
    htmx = getattr(request, "htmx", None)
    fragment = (
        bool(htmx),
        bool(htmx and htmx.boosted),
        bool(htmx and htmx.history_restore_request),
    )
    from .views.control import workspace_tz

    tz = workspace_tz(workspace)
    return (
        name,
        tuple(args),
        tuple(sorted(kwargs.items())),
        request.META.get("QUERY_STRING", ""),
        fragment,
        workspace.pk,
        workspace.index_generation,
        (workspace.name, workspace.slug, workspace.kind, workspace.parent_id,
         workspace.time_zone, workspace.archived_at, workspace.created_at),
        getattr(request, "role", None),
        user.is_superuser,
        _account_state(request),
        datetime.now(tz).date(),
        int(time.time() // bucket) if bucket else None,
    )  # fmt: skip


# --- holes ---------------------------------------------------------------------------
def capturing(request) -> bool:
    """True while a kept page renders: the shell leaves its holes."""
    return getattr(request, "_pagecache_capture", False)


def hole(request, part: str, render):
    """The hole of a shell `part` in a page being kept; this request's own part
    is rendered now and filled in by `_fill` (not rendered twice)."""
    filled = getattr(request, "_pagecache_shell", None)
    if filled is None:
        filled = request._pagecache_shell = {}
    filled[part] = render()
    return SafeString(SIDEBAR_HOLE if part == "sidebar" else TOPBAR_HOLE)


def _csrf_holes(request, body: str) -> str:
    """Every token of this request's CSRF secret in `body` replaced by a hole."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return body

    def hole(match):
        token = match.group(0)
        try:
            mine = _unmask_cipher_token(token) == secret
        except Exception:  # noqa: BLE001 - not a token
            mine = False
        return CSRF_HOLE if mine else token

    body = _TOKEN.sub(hole, body)
    if secret in body:  # never keep the secret itself
        raise ValueError("the CSRF secret is in the page")
    return body


def _fill(request, body: str) -> str:
    if SIDEBAR_HOLE in body or TOPBAR_HOLE in body:
        parts = getattr(request, "_pagecache_shell", None)
        if parts is None:  # an answer from the store: this request's own shell
            from .context_processors import portal

            shell = portal(request).get("shell")
            parts = {
                "sidebar": shell.sidebar if shell else "",
                "topbar": shell.topbar if shell else "",
            }
        body = body.replace(SIDEBAR_HOLE, parts.get("sidebar", ""))
        body = body.replace(TOPBAR_HOLE, parts.get("topbar", ""))
    if CSRF_HOLE in body:
        body = body.replace(CSRF_HOLE, get_token(request))
    return body


def _keepable(response) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and response.get("Content-Type", "").startswith("text/html")
        and len(response.content) <= MAX_BYTES
    )


def _answer(request, entry) -> HttpResponse:
    _, body, content_type, headers = entry
    response = HttpResponse(_fill(request, body), content_type=content_type)
    for header, value in headers:
        response[header] = value
    return response


def cached_page(*, bucket: float | None = None):
    """Keep a GET view's rendered page (see the module's doc). `bucket`: seconds
    a page with running times ("live for 3 min 5 s") may be shown unchanged."""

    def decorator(view):
        name = f"{view.__module__}.{view.__qualname__}"

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            key = page_key(request, name, args, kwargs, bucket)
            if key is None:
                stats["bypassed"] += 1
                return view(request, *args, **kwargs)
            entry = _get(key)
            if entry is not None:
                stats["hits"] += 1
                return _answer(request, entry)
            stats["misses"] += 1
            request._pagecache_capture = True
            try:
                response = view(request, *args, **kwargs)
            finally:
                request._pagecache_capture = False
            if not hasattr(response, "content") or response.streaming:
                return response
            body = response.content.decode(response.charset)
            if _keepable(response):
                try:
                    kept = _csrf_holes(request, body)
                except ValueError:
                    kept = None
                if kept is not None:
                    headers = tuple(
                        (h, v)
                        for h, v in response.items()
                        if h.lower() not in ("content-type", "content-length")
                    )
                    _put(
                        key,
                        (
                            time.monotonic() + MAX_AGE,
                            kept,
                            response["Content-Type"],
                            headers,
                        ),
                    )
            response.content = _fill(request, body)
            return response

        wrapped.page_cache = True
        return wrapped

    return decorator


# --- single-row edits (the admin, a shell) of the index's own tables ------------------
def _row_changed(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        bump([getattr(instance, "workspace_id", None)], using=kwargs.get("using"))


for _model in (
    "core.Activity",
    "core.VendorAgent",
    "core.AgentIdentity",
    "core.UsageDay",
):
    post_save.connect(_row_changed, sender=_model, dispatch_uid=f"pagecache.{_model}")
    post_delete.connect(
        _row_changed, sender=_model, dispatch_uid=f"pagecache-d.{_model}"
    )
