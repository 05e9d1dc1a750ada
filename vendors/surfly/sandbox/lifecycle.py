"""Starting and ending sessions: the state change plus the webhook events."""

from __future__ import annotations

import random

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from . import events
from .models import Company, OptionSet, SandboxSession
from .params import tags_text
from .records import dump_record, history_record, session_ids, token

_rng = random.SystemRandom()


def find_session(company: Company, key: str) -> SandboxSession | None:
    """By raw `id`, `session_id` or `formatted_id` (123-123-123)."""
    return (
        SandboxSession.objects.filter(company=company)
        .filter(Q(raw_id=key) | Q(session_id=key) | Q(formatted_id=key))
        .select_related("option_set")
        # A live session wins over an ended one with the same formatted id.
        .order_by(F("end_time").asc(nulls_first=True))
        .first()
    )


def _free_pin(company: Company) -> str:
    """A 4-digit PIN unique among the company's active sessions."""
    taken = set(
        SandboxSession.objects.filter(
            company=company, end_time__isnull=True, pin__isnull=False
        ).values_list("pin", flat=True)
    )
    while True:
        pin = f"{_rng.randrange(1000, 10000)}"
        if pin not in taken:
            return pin


def start_session(
    company: Company,
    *,
    url: str,
    tags: list[str],
    agent_id: int | None,
    queued: bool,
    options: dict,
) -> SandboxSession:
    """Create a live session; events `session.queued` (when queued) and
    `session.started` follow, in that order."""
    raw_id, session_id, formatted_id = session_ids(_rng)
    pin = _free_pin(company) if queued else None
    s = SandboxSession(
        company=company,
        raw_id=raw_id,
        session_id=session_id,
        formatted_id=formatted_id,
        agent_id=agent_id,
        follower_link=f"https://surfly.com/{formatted_id}",
        leader_link=f"https://surfly.com/{token(_rng, 21)}",
        server="session.surfly.com",
        start_time=timezone.now(),
        queued=queued,
        queue_id=int(pin) if pin else 0,
        waiting_time=0 if queued else None,
        pin=pin,
        start_url=url,
        tags=tags,
        tags_text=tags_text(tags),
    )
    with transaction.atomic(using=ALIAS):
        s.option_set = OptionSet.for_options(options)
        s.record_json = dump_record(history_record(s))
        s.save()
        if queued:
            events.publish(company, "session.queued", s)
        events.publish(company, "session.started", s)
    return s


def end_session(s: SandboxSession) -> SandboxSession:
    """End a live session (an ended one is answered as it is, unchanged)."""
    if s.end_time is not None:
        return s
    now = timezone.now()
    s.end_time = now
    s.duration = int((now - s.start_time).total_seconds())
    s.successful_start = s.participant_num > 0
    if s.queued and s.waiting_time is not None:
        s.waiting_time = s.duration  # nobody picked it up: it waited throughout
    s.record_json = dump_record(history_record(s))
    with transaction.atomic(using=ALIAS):
        s.save()
        events.publish(s.company, "session.ended", s)
    return s
