"""SameSurf writes: push a change to SameSurf first, then store its answer locally.

Functions marked `@retryable` are idempotent at SameSurf (deleting a token or a
subscription: a repeat finds it gone, errorcode 112/118, and that is success),
so a view may keep them for a background retry when SameSurf is down. Creating
rooms, tokens, subscriptions and keys is not: a lost answer would create a
second one, so those are never replayed.

Every function makes the vendor call(s) first and touches the database only
once SameSurf has answered, writing the local rows and the control room's index
in one transaction. Errors are the vendorkit taxonomy: views show
`user_message()` and `field_errors` (SameSurf's errorcodes mapped to our field
names) next to the form.

Secrets: a new subscription's API key and secret go only into encrypted
columns (the client workspace's account credentials, `SameSurfApiKey`), are
registered with the log redaction at once, and are never returned to a page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cobrowse_portal.core.models import (
    VendorAccount,
    Workspace,
    archive_workspace,
    create_client_workspace,
)
from cobrowse_portal.core.writes import retryable
from cobrowse_portal.vendorkit.activity import update_rows
from cobrowse_portal.vendorkit.bulk import delete_remote, upsert
from cobrowse_portal.vendorkit.errors import PermanentVendorError, VendorError
from cobrowse_portal.vendorkit.redaction import register_secret

from .models import (
    SameSurfApiKey,
    SameSurfRecording,
    SameSurfRoom,
    SameSurfRoomAnalytics,
    SameSurfScheduledRoom,
    SameSurfSubscription,
    SameSurfToken,
    key_digest,
    running_external_id,
)
from .schemas import CreatedRoom

log = logging.getLogger("cobrowse.vendors.samesurf.services")

#: SameSurf's default validity of a recording link (minutes), when none is asked.
LINK_MINUTES = 60
#: A stored link is shown until this long before SameSurf's expiry (clock skew,
#: the time to open it).
LINK_MARGIN = timedelta(seconds=30)


def client_for(account: VendorAccount):
    return account.client()


def _options(bookmarks, cookies, storage, disabled_features) -> dict:
    """What a room was started with, as kept locally: cookie and storage values
    (session data, often credentials of the visited site) are not kept."""
    out: dict = {}
    if bookmarks:
        out["bookmarks"] = [
            {"name": str(b.get("name", "")), "link": str(b.get("link", ""))}
            for b in bookmarks
        ]
    if cookies:
        out["cookies"] = [
            {"domain": str(c.get("domain", "")), "name": str(c.get("name", ""))}
            for c in cookies
        ]
    if storage:
        out["storage"] = [
            {"domain": str(s.get("domain", "")), "name": str(s.get("name", ""))}
            for s in storage
        ]
    if disabled_features:
        out["disabledfeatures"] = list(disabled_features)
    return out


def _links_raw(answer: CreatedRoom) -> dict:
    # The answer's own fields, minus the bare tokens (the links carry them).
    return {k: v for k, v in answer.raw.items() if k not in ("token", "leadertoken")}


# --- rooms ---------------------------------------------------------------------
def start_room(
    account: VendorAccount,
    *,
    starturl: str = "",
    title: str = "",
    bookmarks: Iterable[dict] | None = None,
    cookies: Iterable[dict] | None = None,
    storage: Iterable[dict] | None = None,
    disabled_features: Iterable[str] | None = None,
) -> SameSurfRoom:
    """POST create: a room to use now. The stored row (running, with the leader
    and invitee links) is the one `runningrooms` and later `analyticsrooms`
    fill in: one room, one activity (see models.py)."""
    bookmarks, cookies, storage = (
        list(bookmarks or []),
        list(cookies or []),
        list(storage or []),
    )
    answer = client_for(account).create_room(
        starturl or None,
        title=title or None,
        bookmarks=bookmarks or None,
        cookies=cookies or None,
        storage=storage or None,
        disabled_features=disabled_features or None,
    )
    if not answer.room:
        raise PermanentVendorError("SameSurf created a room but sent no room number")
    now = timezone.now()
    row = {
        "external_id": running_external_id(answer.room, now),
        "number": answer.room,
        "title": (title or "")[:300],
        "start_url": (starturl or "")[:1000],
        "started_at": now,
        "is_running": True,
        "leader_link": answer.leader_link[:500],
        "invitee_link": answer.invitee_link[:500],
        "options": _options(bookmarks, cookies, storage, disabled_features),
        "raw": _links_raw(answer),
    }
    upsert(SameSurfRoom, account, [row])  # the row and its activity, one transaction
    return SameSurfRoom.objects.get(account=account, external_id=row["external_id"])


def schedule_room(
    account: VendorAccount,
    *,
    event_time: datetime,
    timezone_name: str = "",
    length_minutes: int | None = None,
    invitees: Iterable[str] | str | None = None,
    invite_message: str = "",
    starturl: str = "",
    title: str = "",
    bookmarks: Iterable[dict] | None = None,
    cookies: Iterable[dict] | None = None,
    storage: Iterable[dict] | None = None,
    disabled_features: Iterable[str] | None = None,
) -> SameSurfScheduledRoom:
    """POST create with an `eventtime`: stored as a scheduled room (SameSurf has
    no call listing them, so the portal's rows are the list)."""
    if invitees is not None and not isinstance(invitees, str):
        invitees = ",".join(i.strip() for i in invitees if i and i.strip())
    bookmarks, cookies, storage = (
        list(bookmarks or []),
        list(cookies or []),
        list(storage or []),
    )
    answer = client_for(account).create_scheduled_room(
        event_time,
        timezone=timezone_name or None,
        length_minutes=length_minutes,
        invitees=invitees or None,
        invite_message=invite_message or None,
        starturl=starturl or None,
        title=title or None,
        bookmarks=bookmarks or None,
        cookies=cookies or None,
        storage=storage or None,
        disabled_features=disabled_features or None,
    )
    if not answer.room:
        raise PermanentVendorError("SameSurf scheduled a room but sent no room number")
    row = {
        "external_id": answer.room,
        "title": (title or "")[:300],
        "start_url": (starturl or "")[:1000],
        "event_at": event_time,
        "timezone": timezone_name or "",
        "length_minutes": length_minutes,
        "invitees": invitees or "",
        "invite_message": invite_message or "",
        "leader_link": answer.leader_link[:500],
        "invitee_link": answer.invitee_link[:500],
        "options": _options(bookmarks, cookies, storage, disabled_features),
        "raw": _links_raw(answer),
    }
    upsert(SameSurfScheduledRoom, account, [row])
    return SameSurfScheduledRoom.objects.get(account=account, external_id=answer.room)


def find_room(account: VendorAccount, number: str) -> CreatedRoom:
    """POST find: a room's current invitation (shown, e.g. to re-open a
    scheduled room's link); nothing is stored."""
    return client_for(account).find_room(number)


# --- limited-use tokens --------------------------------------------------------
def create_token(
    account: VendorAccount,
    room: SameSurfRoom | SameSurfScheduledRoom,
    *,
    usage_limit: int,
    is_leader: bool,
    users_name: str = "",
) -> SameSurfToken:
    """POST createlimitedusetoken for a room (running or scheduled)."""
    number = room.number if isinstance(room, SameSurfRoom) else room.external_id
    answer = client_for(account).create_limited_use_token(
        number, usage_limit, is_leader, users_name or None
    )
    if not answer.token:
        raise PermanentVendorError("SameSurf created a token but sent no token")
    with transaction.atomic():
        upsert(
            SameSurfToken,
            account,
            [
                {
                    "external_id": answer.token,
                    "room": room.pk if isinstance(room, SameSurfRoom) else None,
                    "room_number": number,
                    "usage_limit": int(usage_limit),
                    "is_leader": bool(is_leader),
                    "users_name": (users_name or "")[:200],
                    "link": answer.link[:500],
                    "raw": {"room": number, "link": answer.link},
                }
            ],
        )
        return SameSurfToken.objects.get(account=account, external_id=answer.token)


@retryable(removes=True)
def revoke_token(account: VendorAccount, token: SameSurfToken) -> str:
    """POST deletelimitedusetoken, then mark the row removed (errorcode 112, an
    unknown token, means it is already gone: removed all the same)."""
    answer = delete_remote(
        token,
        lambda: client_for(account).delete_limited_use_token(token.external_id),
        gone="SameSurf no longer had this token.",
    )
    return answer or "Token revoked."


# --- recordings ----------------------------------------------------------------
def recording_link(
    account: VendorAccount,
    recording: SameSurfRecording,
    kind: str = "public_link",
    *,
    valid_for: int | None = None,
    width: int | None = None,
    height: int | None = None,
) -> str:
    """A short-lived link to a recording (`public_link`: the video; `thumbnail`;
    `image`: a screenshot, optionally `width` x `height`), asked on demand and
    stored with its expiry only: `SameSurfRecording.link()` stops showing it
    then, and the overview stream clears expired ones (forget_expired_links).

    SameSurf's recording calls name the room by number only (no version): for
    a reused number they reach its latest use."""
    if kind not in SameSurfRecording.KINDS:
        raise ValueError(f"unknown recording link kind {kind!r}")
    room = recording.room
    client = client_for(account)
    if kind == "public_link":
        link = client.recording_public_link(room.number, recording.index, valid_for)
    elif kind == "thumbnail":
        link = client.recording_thumbnail(room.number, recording.index, valid_for)
    else:
        link = client.recording_image(
            room.number, recording.index, valid_for, width=width, height=height
        )
    expires = timezone.now() + timedelta(minutes=valid_for or LINK_MINUTES)
    field = "public_link" if kind == "public_link" else f"{kind}_link"
    SameSurfRecording.objects.filter(pk=recording.pk).update(
        **{field: link[:1000], f"{kind}_expires_at": expires - LINK_MARGIN}
    )
    setattr(recording, field, link[:1000])
    setattr(recording, f"{kind}_expires_at", expires - LINK_MARGIN)
    return link


def forget_expired_links(account: VendorAccount) -> int:
    """Clear stored recording links past their expiry (never kept long-term)."""
    now, cleared = timezone.now(), 0
    rows = SameSurfRecording.objects.filter(account=account)
    for kind in SameSurfRecording.KINDS:
        field = "public_link" if kind == "public_link" else f"{kind}_link"
        cleared += rows.filter(**{f"{kind}_expires_at__lte": now}).update(
            **{field: "", f"{kind}_expires_at": None}
        )
    return cleared


# --- per-room analytics --------------------------------------------------------
def fetch_room_analytics(
    account: VendorAccount, room: SameSurfRoom
) -> SameSurfRoomAnalytics:
    """POST roomanalytics for one room (its version; 0, SameSurf's default, for
    a room only seen running), stored; the host's name goes onto the room (and
    so onto its activity's agent name) in the same transaction."""
    answer = client_for(account).room_analytics(room.number, room.version)
    host = next((u.name for u in answer.users if u.host and u.name), "")

    def when(value):
        return value.isoformat() if value else None

    row = {
        "external_id": room.external_id,
        "room": room.pk,
        "title": answer.title[:300],
        "events": [
            {
                "type": e.type,
                "date": when(e.date),
                "sender": e.sender,
                "target": e.target,
                "data": e.data,
            }
            for e in answer.events
        ],
        "users": [
            {
                "guid": u.guid,
                "name": u.name,
                "host": u.host,
                "joined_at": when(u.joined_at),
                "left_at": when(u.left_at),
                "city": u.city,
                "country": u.country,
            }
            for u in answer.users
        ],
        "fetched_at": timezone.now(),
        # The users' IP addresses are left out of what is kept.
        "raw": {
            **answer.raw,
            "users": [
                {k: v for k, v in u.items() if k != "ipaddress"}
                for u in answer.raw.get("users") or []
                if isinstance(u, dict)
            ],
        },
    }
    with transaction.atomic():
        upsert(SameSurfRoomAnalytics, account, [row])
        if host and host != room.host_name:
            update_rows(
                SameSurfRoom.objects.filter(pk=room.pk), account, host_name=host[:200]
            )
            room.host_name = host[:200]
    return SameSurfRoomAnalytics.objects.get(account=account, room=room)


# --- reseller subscriptions ----------------------------------------------------
@dataclass
class CreatedSubscription:
    subscription: SameSurfSubscription
    workspace: Workspace | None = None
    workspace_account: VendorAccount | None = None
    api_key: SameSurfApiKey | None = None
    #: Why no key/workspace was made although asked (the subscription exists).
    key_error: str = ""


def _override_list(overrides) -> list[dict]:
    """{key: value}, [(key, value)] or [{key, value}] -> [{key, value}] (text
    values, booleans as "true"/"false", as the docs' example sends them)."""
    if not overrides:
        return []
    if isinstance(overrides, dict):
        pairs = overrides.items()
    else:
        pairs = [
            (o["key"], o["value"]) if isinstance(o, dict) else tuple(o)
            for o in overrides
        ]
    out = []
    for key, value in pairs:
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append({"key": str(key), "value": str(value)})
    return out


def store_key(subscription: SameSurfSubscription, api_key: str, api_secret: str):
    register_secret(api_key)
    register_secret(api_secret)
    row = SameSurfApiKey.build(subscription, api_key, api_secret)
    row.save()
    return row


def create_subscription(
    account: VendorAccount,
    *,
    name: str,
    license_count: int,
    overrides: dict | Iterable | None = None,
    bookmarks: Iterable[dict] | None = None,
    disabled_features: Iterable[str] | None = None,
    create_workspace: bool = False,
    parent: Workspace | None = None,
) -> CreatedSubscription:
    """POST reseller/createsubscription. With `create_workspace`, also POST
    reseller/createapikey and make a client workspace (owned by `parent`) whose
    SameSurf account holds the new key and secret, encrypted; the key is also
    kept (encrypted) on the subscription, so the subscriptions stream can check
    it. If the key call fails, the subscription (which SameSurf did create) is
    stored all the same and `key_error` says why; "add an API key" retries it."""
    client = client_for(account)
    bookmarks = list(bookmarks or [])
    features = list(disabled_features or [])
    override_list = _override_list(overrides)
    client.create_subscription(
        name,
        license_count,
        overrides={o["key"]: o["value"] for o in override_list} or None,
        bookmarks=bookmarks or None,
        disabled_features=features or None,
    )
    row = {
        "external_id": name,
        "name": name[:200],
        "license_count": int(license_count),
        "overrides": override_list,
        "bookmarks": bookmarks,
        "disabled_features": features,
        # SameSurf answers only `success`: what it accepted is what was sent.
        "raw": {
            "name": name,
            "licensecount": int(license_count),
            "configuration_overrides": override_list,
            "bookmarks": bookmarks,
            "disabled_features": features,
        },
    }
    upsert(SameSurfSubscription, account, [row])
    sub = SameSurfSubscription.objects.get(account=account, external_id=name)
    result = CreatedSubscription(sub)
    if not create_workspace or parent is None:
        return result
    try:
        key = client.create_api_key(name)
    except VendorError as exc:
        log.warning("samesurf subscription %s: no API key: %s", name, exc)
        result.key_error = exc.user_message()
        return result
    with transaction.atomic():
        result.api_key = store_key(sub, key.api_key, key.api_secret)
        workspace, client_account = create_client_workspace(
            parent,
            name,
            vendor=account.vendor,
            base_url=account.base_url,
            credentials={"api_key": key.api_key, "api_secret": key.api_secret},
            account_name=f"SameSurf · {name}",
        )
        SameSurfSubscription.objects.filter(pk=sub.pk).update(
            client_workspace=workspace, client_account=client_account
        )
        sub.client_workspace, sub.client_account = workspace, client_account
        result.workspace, result.workspace_account = workspace, client_account
    return result


def add_api_key(
    account: VendorAccount, subscription: SameSurfSubscription
) -> SameSurfApiKey:
    """POST reseller/createapikey: a further key of the subscription, kept only
    encrypted. The client workspace's account keeps the key it has (switch it
    under the account's credentials if wanted)."""
    key = client_for(account).create_api_key(subscription.name)
    if SameSurfApiKey.objects.filter(
        account=account, external_id=key_digest(key.api_key)
    ).exists():
        raise PermanentVendorError("SameSurf answered a key the portal already has")
    return store_key(subscription, key.api_key, key.api_secret)


@retryable(removes=True)
def delete_subscription(
    account: VendorAccount,
    subscription: SameSurfSubscription,
    *,
    archive: bool = False,
) -> str:
    """POST reseller/deletesubscription, then mark the row and its keys removed
    (errorcode 118, no such subscription, means already gone). `archive`: the
    client workspace is archived too (its data kept, its syncs stopped);
    otherwise it stays as it is."""
    answer = delete_remote(
        subscription,
        lambda: client_for(account).delete_subscription(subscription.name),
        gone="SameSurf no longer had this subscription.",
    )
    with transaction.atomic():
        SameSurfApiKey.objects.filter(
            subscription=subscription, removed_at__isnull=True
        ).update(removed_at=timezone.now())
        workspace = subscription.client_workspace
        if archive and workspace is not None and workspace.archived_at is None:
            archive_workspace(workspace)
    return answer or "Subscription deleted."
