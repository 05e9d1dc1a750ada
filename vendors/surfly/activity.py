"""How Surfly's rows feed the control room (declared in apps.py): co-browsing
sessions are activities, agents are directory entries. Plain mappings of a stored
row (a dict of its fields) to the index's fields; vendorkit does the writing."""

from __future__ import annotations

from cobrowse_portal.core.choices import ActivityStatus
from cobrowse_portal.core.urlcache import url_for

#: `meta` keys that name the visitor, best first (the widget's own metadata).
VISITOR_KEYS = ("name", "email", "customer_id", "customer", "user", "visitor")


def session_status(row: dict) -> str:
    if row.get("is_active") is False or row.get("end_time"):
        return ActivityStatus.ENDED
    return ActivityStatus.QUEUED if row.get("queued") else ActivityStatus.LIVE


def visitor(meta) -> str:
    if not isinstance(meta, dict):
        return ""
    for key in VISITOR_KEYS:
        value = meta.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
    return ""


def session_activity(account, row: dict) -> dict:
    """A CobrowseSession row as an activity (kind: co-browse)."""
    start, end, duration = (
        row.get("start_time"),
        row.get("end_time"),
        row.get("duration"),
    )
    if duration is None and start and end and end >= start:
        duration = int((end - start).total_seconds())
    return {
        "status": session_status(row),
        "started_at": start,
        "ended_at": end,
        "duration": duration,
        "agent_external_id": row.get("agent_id") or "",
        # Surfly's sessions name the agent by id only: the index takes the name
        # from the agent directory.
        "agent_name": "",
        "visitor": visitor(row.get("meta")),
        "url": row.get("start_url") or "",
        "title": row.get("formatted_id") or row.get("pin") or "",
        "tags": row.get("tags") or [],
        "link": url_for("surfly:session_detail", account_id=account.pk, pk=row["id"]),
    }


def agent_entry(account, row: dict) -> dict:
    """A SurflyAgent row as a directory entry."""
    return {
        "name": row.get("name") or "",
        "email": row.get("email") or "",
        "role": row.get("role") or "",
        "available": row.get("available"),
        "free": row.get("is_free"),
        "last_activity_at": row.get("last_login"),
    }
