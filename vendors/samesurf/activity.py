"""How SameSurf's rows feed the control room (declared in apps.py): rooms are
activities (kind: room). Plain mappings of a stored row (a dict of its fields)
to the index's fields; vendorkit does the writing.

The agent directory: SameSurf has no agent or user API, so nothing feeds it.
A room's host is named only by `roomanalytics` (fetched on demand, see
services.fetch_room_analytics): that name ("Host" by default at SameSurf) is
shown as the activity's agent name, with no directory entry behind it (it
carries no e-mail or id to match a person by).
"""

from __future__ import annotations

from django.urls import NoReverseMatch

from cobrowse_portal.core.choices import ActivityStatus
from cobrowse_portal.core.urlcache import current_urlconf, url_for

#: The room's page (the pages' `samesurf:room_detail`, kwargs account_id and pk).
ROOM_PAGE = "samesurf:room_detail"
#: URLconfs without that page (so the index links nowhere instead of failing);
#: remembered, so a missing page costs one failed reverse, not one per row.
_missing: set = set()

RECORDED = "recorded"


def room_link(account, pk) -> str:
    urlconf = current_urlconf()  # read once per batch (urlcache.held)
    if pk is None or urlconf in _missing:
        return ""
    try:
        return url_for(ROOM_PAGE, account_id=account.pk, pk=pk)
    except NoReverseMatch:
        _missing.add(urlconf)
        return ""


def room_activity(account, row: dict) -> dict:
    """A SameSurfRoom row as an activity (kind: room)."""
    running = bool(row.get("is_running"))
    start = row.get("started_at")
    end = None if running else row.get("ended_at")
    duration = None if running else row.get("duration")
    if duration is None and start and end and end >= start:
        duration = int((end - start).total_seconds())
    return {
        "status": ActivityStatus.LIVE if running else ActivityStatus.ENDED,
        "started_at": start,
        "ended_at": end,
        "duration": duration,
        "agent_external_id": "",
        "agent_name": row.get("host_name") or "",
        "visitor": "",
        "url": row.get("start_url") or "",
        "title": row.get("title") or f"Room {row.get('number') or ''}".strip(),
        # Recorded rooms carry a tag, so the Activity filter finds them.
        "tags": [RECORDED] if row.get("recordings") else [],
        "link": room_link(account, row.get("id")),
    }
