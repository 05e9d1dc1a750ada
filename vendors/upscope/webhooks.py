"""Upscope's session-end intake: a watch URL may carry a `webhook_url`, to which
Upscope POSTs the session as JSON when it ends (vendor docs, "webhook_url").
The portal sends the account's receiver (`vendorkit.webhooks.receiver_url`)
with every watch link, so the post reaches the shared receiver at
/hooks/<account>/<token>/, which checks the token, stores the post once and
hands it to Celery.

The body is the bare Session object: no envelope, no event id, no type, no
signature (none documented; the URL token is the only proof of origin). So the
event id is the session id and its last change (`updated_at`, else `ended_at`):
a repeated post is stored once, a later change of the same session is a new
event. Applying it goes through the same rows and merge rule as the sessions
stream (`sync.store_sessions`, `SESSION_LIFECYCLE`): a post older than what is
stored is skipped, and the next `updated_after` pull of the same session finds
nothing to change.
"""

from __future__ import annotations

import hashlib

from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.lenient import as_dt
from cobrowse_portal.vendorkit.merge import is_newer
from cobrowse_portal.vendorkit.webhooks import InvalidEvent, WebhookHandler

from .models import UpscopeSession
from .schemas import Session, as_str
from .sync import SESSION_LIFECYCLE, _sequence, session_rows, session_stage

#: The one kind of post Upscope makes (the name is ours: the post has no type).
SESSION_ENDED = "session.ended"
_SESSION = "upscope.UpscopeSession"
#: The metadata key the portal's watch links add (`services.start_watch`):
#: Upscope keeps a watch link's metadata on the session it starts, so a pulled
#: session tells whether it carries our `webhook_url` (sessions started any
#: other way are never posted to us).
WEBHOOK_MARK = "portal_webhook"


def expects_post(row: dict) -> bool:
    """Reconciliation (`VendorSpec.reconciles`): whether Upscope posts this
    pulled session to us: it has ended and a portal watch link started it."""
    metadata = row.get("metadata")
    return (
        not row.get("is_ongoing")
        and isinstance(metadata, dict)
        and bool(metadata.get(WEBHOOK_MARK))
    )


class UpscopeWebhookHandler(WebhookHandler):
    known_types = frozenset({SESSION_ENDED})
    # Checked at intake against the model's column sizes (vendorkit.webhooks).
    columns = {
        "id": f"{_SESSION}.external_id",
        "visitor_id": f"{_SESSION}.visitor_short_id",
        "team.id": f"{_SESSION}.team_id",
    }

    def identify(self, payload):
        if not isinstance(payload, dict):
            raise InvalidEvent("not an object")
        session_id = as_str(payload.get("id"))
        if not session_id.strip():
            raise InvalidEvent("the session id is required")
        changed = as_dt(payload.get("updated_at")) or as_dt(payload.get("ended_at"))
        sequence = _sequence(changed)
        event_id = f"{session_id}@{sequence}" if sequence is not None else session_id
        if len(event_id) > 64:  # the event id column's size
            event_id = hashlib.sha1(event_id.encode(), usedforsecurity=False)
            event_id = event_id.hexdigest()
        return event_id, sequence, SESSION_ENDED

    def record_key(self, event) -> str:
        return as_str(event.payload.get("id"))

    def apply(self, account, event) -> None:
        session = Session.parse(event.payload)
        rows = session_rows(account, [session])
        if not rows:
            return
        row = rows[0]
        names = ("external_id", *SESSION_LIFECYCLE.fields, *SESSION_LIFECYCLE.reads)
        stored = (
            UpscopeSession.objects.select_for_update()
            .filter(account=account, external_id=row["external_id"])
            .values(*names)
            .first()
        )
        if stored is not None and not is_newer(
            session_stage(row), session_stage(stored)
        ):
            return  # a late or repeated post must not undo newer state
        upsert(UpscopeSession, account, [row])
