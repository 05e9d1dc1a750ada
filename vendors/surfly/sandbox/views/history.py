"""SandboxSession history: `{next, previous, results}`, newest first.

Built for 100,000+ rows: one indexed query on (company, start_time desc, id)
that reads only the pre-serialised record text, and a body assembled by string
concatenation; no model instances and no per-row dict-to-JSON.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..api import dumps, not_found, raw_json, surfly_api
from ..models import Company, OptionSet, SandboxSession
from ..paging import links, window
from ..params import common_filters, moment, number
from ..records import with_options


def _live(record_json: str, seconds: int) -> str:
    """A running session's record with the seconds elapsed so far as
    `duration` (the spec's history example shows a running session so)."""
    record = json.loads(record_json)
    record["duration"] = seconds
    return dumps(record)


@surfly_api()
def history(request: HttpRequest, company: Company) -> HttpResponse:
    """GET /history/ (History_getAllSessions, History_filterSessionHistory).

    Filters stack: active_session, agent_id, pin, tags (`null` allowed for the
    last three; repeated values of one filter are alternatives),
    min_duration/max_duration (seconds, inclusive) and min_date/max_date on
    the start time, half-open [min, max), ISO 8601 with a zone.
    """
    qs = common_filters(request, SandboxSession.objects.filter(company=company))
    low, high = number(request, "min_duration"), number(request, "max_duration")
    if low is not None:
        qs = qs.filter(duration__gte=low)
    if high is not None:
        qs = qs.filter(duration__lte=high)
    since, until = moment(request, "min_date"), moment(request, "max_date")
    if since is not None:
        qs = qs.filter(start_time__gte=since)
    if until is not None:
        qs = qs.filter(start_time__lt=until)

    w = window(request, company.history_page_size)
    rows = list(
        qs.order_by("-start_time", "-id").values_list(
            "record_json", "option_set_id", "start_time", "end_time"
        )[w.offset : w.stop + 1]
    )
    has_next = len(rows) > w.size
    rows = rows[: w.size]
    if not rows and w.page and w.page > 1:
        raise not_found("Invalid page.")
    option_sets = dict(
        OptionSet.objects.filter(pk__in={r[1] for r in rows}).values_list("pk", "text")
    )
    now = timezone.now()
    items = [
        with_options(
            record if ended else _live(record, int((now - started).total_seconds())),
            option_sets[option_set],
        )
        for record, option_set, started, ended in rows
    ]
    nxt, prev = links(request, w, has_next)
    return raw_json(
        f'{{"next":{dumps(nxt)},"previous":{dumps(prev)},"results":[{",".join(items)}]}}'
    )
