"""How Upscope's rows feed the control room (declared in apps.py): co-browsing
sessions are activities (kind: co-browse), agents found by lookup are directory
entries. Plain mappings of a stored row (a dict of its fields) to the index's
fields; vendorkit does the writing.

Sessions carry their agent's name (`agents[].name`), so the index shows it
without the directory; when it is missing (the watch URL's `agent.name` is
optional) the directory's name is used (`agent_name_from_directory`).
"""

from __future__ import annotations

from django.urls import NoReverseMatch

from cobrowse_portal.core.choices import ActivityStatus
from cobrowse_portal.core.urlcache import current_urlconf, url_for
from cobrowse_portal.vendorkit.safeurl import safe_url

#: The session's page (kwargs account_id and pk, the row's own id).
SESSION_PAGE = "upscope:session_detail"
#: URLconfs without that page (so the index links nowhere instead of failing);
#: remembered, so a missing page costs one failed reverse, not one per row.
_missing: set = set()

#: `metadata` keys (the watch URL's flat metadata) that name the visitor, best
#: first, for a session whose visitor is not stored.
VISITOR_KEYS = ("visitor_name", "name", "visitor_email", "email", "customer")
#: `metadata` keys that give the page the session was about.
URL_KEYS = ("url", "page", "page_url")


def session_link(account, pk) -> str:
    urlconf = current_urlconf()  # read once per batch (urlcache.held)
    if pk is None or urlconf in _missing:
        return ""
    try:
        return url_for(SESSION_PAGE, account_id=account.pk, pk=pk)
    except NoReverseMatch:
        _missing.add(urlconf)
        return ""


def _first(meta, keys) -> str:
    if not isinstance(meta, dict):
        return ""
    for key in keys:
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            continue
        if str(value).strip():
            return str(value).strip()
    return ""


def visitor(row: dict) -> str:
    """The stored visitor's name, else the metadata's, else its short id."""
    label = (row.get("visitor_label") or "").strip()
    if label:
        return label
    named = _first(row.get("metadata"), VISITOR_KEYS)
    if named:
        return named
    short_id = row.get("visitor_short_id") or ""
    return f"Visitor {short_id}" if short_id else ""


def tags(row: dict) -> list[str]:
    """The visitor's `#TAG`s without the `#` (the Activity filter's words)."""
    out = []
    for tag in row.get("tags") or []:
        if isinstance(tag, str) and tag.lstrip("#").strip():
            out.append(tag.lstrip("#").strip())
    return out


def session_activity(account, row: dict) -> dict:
    """An UpscopeSession row as an activity (kind: co-browse): live while
    ongoing (no duration or end yet), ended with its length."""
    ongoing = bool(row.get("is_ongoing"))
    start = row.get("started_at")
    end = None if ongoing else row.get("ended_at")
    duration = None if ongoing else row.get("duration")
    if duration is None and start and end and end >= start:
        duration = int((end - start).total_seconds())
    return {
        "status": ActivityStatus.LIVE if ongoing else ActivityStatus.ENDED,
        "started_at": start,
        "ended_at": end,
        "duration": duration,
        "agent_external_id": row.get("agent_id") or "",
        "agent_name": row.get("agent_name") or "",
        "visitor": visitor(row),
        # Only an explicit http(s) URL from the (untrusted) metadata.
        "url": safe_url(_first(row.get("metadata"), URL_KEYS)),
        "title": f"Session {row.get('external_id') or ''}".strip(),
        "tags": tags(row),
        "link": session_link(account, row.get("id")),
    }


def agent_entry(account, row: dict) -> dict:
    """An UpscopeAgent row as a directory entry. Upscope tells neither an
    agent's availability nor a role: those stay None / its `_type`."""
    return {
        "name": row.get("name") or "",
        "email": row.get("email") or "",
        "role": row.get("kind") or "",
        "available": None,
        "free": None,
        "last_activity_at": row.get("last_session_at"),
    }
