"""Surfly webhooks: `{sequence_id, type, data}`, unsigned (none documented), so the
per-account URL token is the only proof of origin. Events are applied in
`sequence_id` order; an event older than what a session already saw is skipped."""

from __future__ import annotations

from cobrowse_portal.vendorkit.safeurl import safe_url
from cobrowse_portal.vendorkit.webhooks import InvalidEvent, WebhookHandler

from .models import CobrowseSession
from .schemas import as_dt, as_int, as_tags, decode_meta

SESSION_EVENTS = frozenset({"session.queued", "session.started", "session.ended"})


class SurflyWebhookHandler(WebhookHandler):
    known_types = SESSION_EVENTS

    def identify(self, payload):
        if not isinstance(payload, dict):
            raise InvalidEvent("not an object")
        sequence = as_int(payload.get("sequence_id"))
        event_type = payload.get("type")
        if sequence is None or not isinstance(event_type, str) or not event_type:
            raise InvalidEvent("sequence_id and type are required")
        if event_type in SESSION_EVENTS:
            data = payload.get("data")
            if not isinstance(data, dict) or not data.get("session_id"):
                raise InvalidEvent("data.session_id is required")
        return str(sequence), sequence, event_type

    def apply(self, account, event) -> None:
        data = event.payload.get("data") or {}
        key = str(data["session_id"])
        session = (
            CobrowseSession.objects.select_for_update()
            .filter(account=account, external_id=key)
            .first()
        )
        if session is None:
            session = CobrowseSession(account=account, external_id=key, api_id=key)
        elif (session.last_event_sequence or -1) >= event.sequence:
            return  # an older event arriving late must not undo a newer one
        session.tags = as_tags(data.get("tags")) or session.tags
        if "meta" in data:
            session.meta = decode_meta(data.get("meta"))
        session.start_time = as_dt(data.get("start_time")) or session.start_time
        session.pin = str(data.get("pin") or session.pin or "")
        session.follower_link = (  # only http(s) links are stored (safe_url)
            safe_url(data.get("follower_link"))
            or safe_url(data.get("viewer_link"))
            or session.follower_link
        )
        if safe_url(data.get("leader_link")):
            session.leader_link = safe_url(data["leader_link"])
        if event.event_type == "session.queued":
            session.queued, session.is_active = True, True
        elif event.event_type == "session.started":
            session.is_active = True
        elif event.event_type == "session.ended":
            session.is_active = False
            session.end_time = as_dt(data.get("end_time")) or session.end_time
            session.duration = as_int(data.get("duration"))
        session.last_event_sequence = event.sequence
        session.save()
