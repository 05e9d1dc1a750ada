"""How Serviceform's rows feed the control room (declared in apps.py with the
VendorSpec): chats are activities (kind: chat); each day's chat statistics go
to the usage rollups through `models.record_stat_day`. A plain mapping of a
stored row (a dict of its fields) to the index's fields; vendorkit does the
writing.

No agent directory source. Serviceform has no agent listing: agents appear
only inside chats (`agentId`, `agentName`, `agentEmail`). An AgentSource maps
one stored row to one directory entry keyed by that row's external id, so
chats as the source would make one "agent" per chat; and the chats already
carry the agent's id and name onto every activity, which is what the index
shows. A directory entry would also claim nothing true about availability.
(If matching Serviceform agents to people by e-mail is wanted later, a small
agent table derived from the chats' agent fields would be its source.)
"""

from __future__ import annotations

from django.urls import NoReverseMatch

from cobrowse_portal.core.choices import ActivityStatus
from cobrowse_portal.core.urlcache import current_urlconf, url_for

from .schemas import safe_link

#: The chat transcript page (kwargs account_id and pk, the row's own id: a
#: `cid` is the vendor's free text, the pk is always a path-safe integer).
CHAT_PAGE = "serviceform:chat"
#: URLconfs without that page (so the index links nowhere instead of failing);
#: remembered, so a missing page costs one failed reverse, not one per row.
_missing: set = set()


def chat_link(account, pk) -> str:
    urlconf = current_urlconf()  # read once per batch (urlcache.held)
    if pk is None or urlconf in _missing:
        return ""
    try:
        return url_for(CHAT_PAGE, account_id=account.pk, pk=pk)
    except NoReverseMatch:
        _missing.add(urlconf)
        return ""


def _clean(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def visitor(row: dict) -> str:
    """The visitor's name, e-mail or phone, else "Visitor <uid>" ("" if none)."""
    for key in ("visitor_name", "visitor_email", "visitor_phone"):
        value = _clean(row.get(key))
        if value:
            return value
    uid = _clean(row.get("visitor_uid"))
    return f"Visitor {uid}" if uid else ""


def tags(row: dict) -> list[str]:
    """Chatbot or human, then the team and source (the Activity filter's words)."""
    out = []
    bot = row.get("is_chatbot")
    if bot is True:
        out.append("chatbot")
    elif bot is False:
        out.append("human")
    for key in ("team", "source"):
        value = _clean(row.get(key))
        if value and value not in out:
            out.append(value)
    return out


def chat_activity(account, row: dict) -> dict:
    """A ServiceformChat row as an activity (kind: chat): live while open (no
    end or duration yet), ended with its length otherwise."""
    is_open = row.get("status") != "ended"
    start = row.get("started_at")
    end = None if is_open else row.get("ended_at")
    duration = None if is_open else row.get("duration")
    if duration is None and start and end and end >= start:
        duration = int((end - start).total_seconds())
    ext = _clean(row.get("external_id"))
    site = _clean(row.get("site_name"))
    title = f"Chat {ext}".strip()
    return {
        "status": ActivityStatus.LIVE if is_open else ActivityStatus.ENDED,
        "started_at": start,
        "ended_at": end,
        "duration": duration,
        "agent_external_id": _clean(row.get("agent_external_id")),
        "agent_name": _clean(row.get("agent_name")),
        "visitor": visitor(row),
        # Only an explicit http(s) URL from the (untrusted) chat.
        "url": safe_link(row.get("page_url") or ""),
        "title": f"{title} on {site}" if site else title,
        "tags": tags(row),
        "link": chat_link(account, row.get("id")),
    }
