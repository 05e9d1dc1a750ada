"""How Smartsupp's rows feed the control room (declared in apps.py with the
VendorSpec): finished chats from the POST hook are activities (kind: chat),
users are directory entries. Plain mappings of a stored row (a dict of its
fields) to the index's fields; vendorkit does the writing.

A finished chat is always ended: the index has no "missed" status
(core.choices.ActivityStatus is queued / live / ended), so a missed, offline,
triggered or dropped chat says so in its tags, which the Activity filter
searches. Chats carry their agent's name (from the agent messages); when one
has none, the directory's name is used (`agent_name_from_directory`).
"""

from __future__ import annotations

from django.urls import NoReverseMatch

from cobrowse_portal.core.choices import ActivityStatus
from cobrowse_portal.core.urlcache import current_urlconf, url_for
from cobrowse_portal.vendorkit.safeurl import safe_url

#: The chat's page (kwargs account_id, the portal VendorAccount, and pk, the
#: SmartsuppChat row's own id).
CHAT_PAGE = "smartsupp:chat"
#: URLconfs without that page (so the index links nowhere instead of failing);
#: remembered, so a missing page costs one failed reverse, not one per row.
_missing: set = set()

#: (row flag, tag), in the order the tags are shown.
FLAG_TAGS = (
    ("is_missed", "missed"),
    ("is_offline", "offline"),
    ("is_triggered", "triggered"),
    ("is_dropped", "dropped"),
)


def chat_link(account, pk) -> str:
    urlconf = current_urlconf()  # read once per batch (urlcache.held)
    if pk is None or urlconf in _missing:
        return ""
    try:
        return url_for(CHAT_PAGE, account_id=account.pk, pk=pk)
    except NoReverseMatch:
        _missing.add(urlconf)
        return ""


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def visitor(row: dict) -> str:
    """The visitor's name, else e-mail, else its Smartsupp id ("" when none)."""
    for key in ("visitor_name", "visitor_email"):
        if _text(row.get(key)):
            return _text(row.get(key))
    visitor_id = _text(row.get("visitor_id"))
    return f"Visitor {visitor_id}" if visitor_id else ""


def tags(row: dict) -> list[str]:
    return [tag for flag, tag in FLAG_TAGS if row.get(flag)]


def title(row: dict) -> str:
    """The page the chat began on, else what kind of chat it was."""
    page = _text(row.get("first_title"))
    if page:
        return page
    if row.get("is_offline"):
        kind = "Offline message"
    elif row.get("is_missed"):
        kind = "Missed chat"
    else:
        kind = "Chat"
    return f"{kind} {_text(row.get('external_id'))}".strip()


def chat_activity(account, row: dict) -> dict:
    """A SmartsuppChat row as an activity (kind: chat): ended, with its length
    (`channel.duration`, else from its times; never negative), agent, visitor,
    first page and the flags as tags."""
    start, end = row.get("begin_at"), row.get("end_at")
    duration = row.get("duration")
    if duration is None and start and end and end >= start:
        duration = int((end - start).total_seconds())
    if duration is not None and duration < 0:
        duration = None
    return {
        "status": ActivityStatus.ENDED,
        "started_at": start,
        "ended_at": end,
        "duration": duration,
        "agent_external_id": _text(row.get("agent_id")),
        "agent_name": _text(row.get("agent_name")),
        "visitor": visitor(row),
        # Only an explicit http(s) URL from the (untrusted) hook.
        "url": safe_url(_text(row.get("first_url")) or _text(row.get("referer"))),
        "title": title(row),
        "tags": tags(row),
        "link": chat_link(account, row.get("id")),
    }


def user_entry(account, row: dict) -> dict:
    """A SmartsuppUser row as a directory entry. The legacy API tells neither
    whether a user is online nor when it last chatted: those stay None."""
    name = (
        _text(row.get("fullname"))
        or _text(row.get("nickname"))
        or _text(row.get("email"))
    )
    return {
        "name": name,
        "email": _text(row.get("email")),
        "role": row.get("role") or "",
        "available": None,
        "free": None,
        "last_activity_at": None,
    }
