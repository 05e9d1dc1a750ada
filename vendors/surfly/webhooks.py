"""Surfly webhooks: `{sequence_id, type, data}`, unsigned (none documented), so the
per-account URL token is the only proof of origin. Each event changes one session
(`data.session_id`): the handler is a `vendorkit.webhooks.RecordHandler`, which
applies a batch of events with a fixed number of statements, in `sequence_id`
order. The merge of one event is here, by the vendorkit merge rule
(`vendorkit.merge`): an event older than what a session already saw is skipped,
and an ended session stays ended unless an event's own time is later than its
end."""

from __future__ import annotations

from cobrowse_portal.vendorkit.merge import Stage, is_newer
from cobrowse_portal.vendorkit.safeurl import safe_url
from cobrowse_portal.vendorkit.webhooks import InvalidEvent, RecordHandler

from .models import CobrowseSession
from .schemas import as_dt, as_int, as_tags, decode_meta
from .sync import ENDED, LIVE, session_stage

SESSION_EVENTS = frozenset({"session.queued", "session.started", "session.ended"})


_SESSION = "surfly.CobrowseSession"


class SurflyWebhookHandler(RecordHandler):
    known_types = SESSION_EVENTS
    # Checked at intake against the model's column sizes (vendorkit.webhooks).
    columns = {
        "data.session_id": f"{_SESSION}.external_id",
        "data.pin": f"{_SESSION}.pin",
        "data.follower_link": f"{_SESSION}.follower_link",
        "data.viewer_link": f"{_SESSION}.follower_link",
        "data.leader_link": f"{_SESSION}.leader_link",
    }
    model = CobrowseSession
    # What an event reads and sets; nothing else of a stored session changes.
    fields = (
        "tags",
        "meta",
        "start_time",
        "pin",
        "follower_link",
        "leader_link",
        "end_time",
        "duration",
        "queued",
        "is_active",
        "last_event_sequence",
    )

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

    def record_key(self, event) -> str:
        return str((event.payload.get("data") or {})["session_id"])

    def new_record(self, key: str) -> dict:
        return {"api_id": key}

    def merge(self, current, event):
        data = event.payload.get("data") or {}
        ended = event.event_type == "session.ended"
        incoming = Stage(
            ENDED if ended else LIVE,
            as_dt(data.get("end_time" if ended else "start_time")),
            event.sequence,
        )
        reopened = False
        if current is None:
            session = self.blank()
        else:
            stage = session_stage(current)
            if not is_newer(incoming, stage):
                return None  # a late event must not undo newer state (pulled or pushed)
            reopened = stage.rank == ENDED and not ended
            session = dict(current)
        session["tags"] = as_tags(data.get("tags")) or session["tags"]
        if "meta" in data:
            session["meta"] = decode_meta(data.get("meta"))
        session["start_time"] = as_dt(data.get("start_time")) or session["start_time"]
        session["pin"] = str(data.get("pin") or session["pin"] or "")
        session["follower_link"] = (  # only http(s) links are stored (safe_url)
            safe_url(data.get("follower_link"))
            or safe_url(data.get("viewer_link"))
            or session["follower_link"]
        )
        if safe_url(data.get("leader_link")):
            session["leader_link"] = safe_url(data["leader_link"])
        if reopened:  # started again after it ended (the event's time says so)
            session["end_time"], session["duration"] = None, None
        if event.event_type == "session.queued":
            session["queued"], session["is_active"] = True, True
        elif event.event_type == "session.started":
            session["is_active"] = True
        elif ended:
            session["is_active"] = False
            session["end_time"] = as_dt(data.get("end_time")) or session["end_time"]
            session["duration"] = as_int(data.get("duration"))
        session["last_event_sequence"] = event.sequence
        return session
