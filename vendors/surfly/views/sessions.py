"""Live sessions, starting and ending a co-browse, session detail and history."""

from __future__ import annotations

import csv
import json
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from cobrowse_portal.core.choices import ActivityKind, Role
from cobrowse_portal.core.fasthtml import clip, esc
from cobrowse_portal.core.htmx import render_page
from cobrowse_portal.core.models import ActivityTag
from cobrowse_portal.core.pagecache import cached_page
from cobrowse_portal.core.pagination import keyset_page
from cobrowse_portal.core.permissions import role_required
from cobrowse_portal.core.templatetags.portal import badge, duration, vendor_link
from cobrowse_portal.core.urlcache import url_pattern
from cobrowse_portal.core.vendorforms import (
    Write,
    attempt,
    back_to,
    failure_text,
    report_failure,
    submit,
)
from cobrowse_portal.vendorkit.errors import VendorError

from .. import services
from ..forms import HistoryFilterForm, ScreenshotForm, SessionStartForm, split_list
from ..models import CobrowseSession, SurflyCompanyOptions
from .common import agent_names, local_agents, page_context, surfly_account

LIVE_PAGE = 50


def _sessions(account):
    return CobrowseSession.objects.filter(account=account, removed_at__isnull=True)


def _list_rows(account):
    """The rows of a list page: without the JSON and columns no list shows."""
    return _sessions(account).defer(*CobrowseSession.LIST_DEFER)


def _row_urls(account, rows, *names: str) -> None:
    """Set `row.<name>_url` for each session URL name: one reverse() per name for
    the whole page, not one per row."""
    patterns = {
        name: url_pattern(f"surfly:session_{name}", "account_id", "pk")
        for name in names
    }
    for row in rows:
        for name, pattern in patterns.items():
            setattr(
                row, f"{name}_url", pattern.format(account_id=account.pk, pk=row.pk)
            )


_QUEUED = badge("queued", "queued")


def _end_form(csrf_token: str, live_url: str) -> str:
    """The End form's hidden inputs (the same for every row of a page)."""
    return (
        '<input type="hidden" name="csrfmiddlewaretoken" '
        f'value="{esc(csrf_token)}">'
        f'<input type="hidden" name="next" value="{esc(live_url)}">'
    )


def live_row_html(s, end_form: str) -> SafeString:
    """One Live table row, formatted in Python (as the history rows are), escaped
    as the row template escaped it: tests/vendors/surfly/test_live_rows.py
    compares the two."""
    name = esc(s)
    started = "—"
    if s.start_time:
        local = timezone.template_localtime(s.start_time)
        started = (
            f'<time datetime="{local.isoformat()}">'
            f"{local.strftime('%Y-%m-%d %H:%M:%S')}</time>"
        )
    tags = "".join(f'<span class="badge">{esc(t)}</span> ' for t in s.tags or ())
    return SafeString(
        f'<tr><td class="nowrap"><a href="{esc(s.detail_url)}">{name}</a>'
        f"{' ' + _QUEUED if s.queued else ''}</td>"
        f"<td>{esc(vendor_link(s.follower_link, label='open', copy=True))}</td>"
        f'<td class="mono">{esc(s.pin or "—")}</td>'
        f"<td>{esc(s.agent_label or '—')}</td>"
        f"<td>{started}</td>"
        f'<td class="num">{esc(duration(s.elapsed))}</td>'
        f"<td>{tags or '—'}</td>"
        f'<td><form method="post" action="{esc(s.end_url)}" class="inline">'
        f"{end_form}"
        '<button type="submit" class="btn small danger" '
        f'data-confirm="End session {name} for everyone in it?">End</button>'
        "</form></td></tr>"
    )


@role_required(Role.AGENT)
@cached_page(bucket=1)
def live(request, account_id: int):
    account = surfly_account(request, account_id)
    # Active rows newest first, a page at a time: an ordered walk of the partial
    # index of live rows (a busy account's live board stays one fast page).
    page = keyset_page(
        _list_rows(account).filter(is_active=True),
        request.GET,
        "start_time",
        size=LIVE_PAGE,
    )
    names, now = agent_names(account), timezone.now()
    for row in page.rows:
        row.elapsed = now - row.start_time if row.start_time else None
        row.agent_label = names.get(row.agent_id, row.agent_id)
    _row_urls(account, page.rows, "detail", "end")
    live_url = url_pattern("surfly:live", "account_id").format(account_id=account.pk)
    if page.rows:
        end_form = _end_form(get_token(request), live_url)
        for row in page.rows:
            row.html = live_row_html(row, end_form)
    return render_page(
        request,
        "surfly/live.html",
        page_context(
            request,
            account,
            sessions=page.rows,
            page=page,
            refreshed_at=now,
            live_url=live_url,
            # The poll keeps the page the person is on.
            poll_url=live_url
            + (request.GET.urlencode() and f"?{request.GET.urlencode()}"),
        ),
        partial="table",
    )


@role_required(Role.AGENT)
def session_start(request, account_id: int):
    account = surfly_account(request, account_id)
    stored = SurflyCompanyOptions.objects.filter(account=account).first()
    form = SessionStartForm(
        request.POST or None,
        agents=local_agents(account),
        defaults=stored.options if stored else {},
        vendor_label=account.spec.label,
    )
    response, status = submit(
        request,
        form,
        lambda data: services.start_session(
            account,
            url=data["url"],
            tags=data["tags"],
            agent_id=data["agent"] or None,
            skip_queue=data["skip_queue"] or None,
            options=form.chosen_options(),
        ),
        lambda session: redirect(
            reverse("surfly:session_start", args=[account.pk])
            + f"?started={session.pk}"
        ),
    )
    if response:
        return response
    started = None
    started_id = request.GET.get("started", "")
    if request.method == "GET" and started_id.isdigit():
        started = _sessions(account).filter(pk=int(started_id)).first()
    return render_page(
        request,
        "surfly/session_start.html",
        page_context(request, account, form=form, started=started),
        status=status,
    )


def _detail_context(request, account, session, **extra) -> dict:
    names = agent_names(account)
    return page_context(
        request,
        account,
        session=session,
        agent_label=names.get(session.agent_id, session.agent_id),
        meta_json=json.dumps(session.meta, indent=2, sort_keys=True, default=str)
        if session.meta not in (None, {}, [], "")
        else "",
        option_rows=[
            (key, json.dumps(value, default=str))
            for key, value in sorted((session.options or {}).items())
        ],
        elapsed=(timezone.now() - session.start_time)
        if session.is_active and session.start_time
        else None,
        shot_form=extra.pop("shot_form", None) or ScreenshotForm(),
        **extra,
    )


@role_required(Role.AGENT)
def session_detail(request, account_id: int, pk: int):
    account = surfly_account(request, account_id)
    session = get_object_or_404(_sessions(account), pk=pk)
    response = render_page(
        request,
        "surfly/session_detail.html",
        _detail_context(request, account, session),
    )
    return allow_screenshots_from(response, account)


def allow_screenshots_from(response, account):
    """Let this page show screenshots from the account's own API host too.

    The site policy allows images from any https host (Surfly's storage); an
    http API host (the sandbox of a local demo, which serves its screenshots
    itself) may differ from the portal's own origin, e.g. 127.0.0.1 against
    localhost, so the page names it."""
    parts = urlsplit(account.base_url or "")
    if parts.scheme == "http" and parts.netloc:
        response._csp_update = {"img-src": [f"http://{parts.netloc}"]}
    return response


@role_required(Role.AGENT)
@require_POST
def session_end(request, account_id: int, pk: int):
    account = surfly_account(request, account_id)
    session = get_object_or_404(_sessions(account), pk=pk)
    detail = reverse("surfly:session_detail", args=[account.pk, session.pk])
    if not session.is_active:
        messages.info(request, "That session has already ended.")
        return back_to(request, detail)
    write = Write(account, services.end_session, f"End session {session}", session)
    done, session = attempt(request, write, "ended")
    if done:
        messages.success(request, f"Session {session} ended.")
    return back_to(request, detail)


@role_required(Role.AGENT)
@require_POST
def session_screenshot(request, account_id: int, pk: int):
    """Ask Surfly for a screenshot and show the latest image (nothing is stored)."""
    account = surfly_account(request, account_id)
    session = get_object_or_404(_sessions(account), pk=pk)
    form = ScreenshotForm(request.POST)
    shot, error = None, None
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors)
    else:
        try:
            shot = services.take_screenshot(
                account,
                session,
                size=form.cleaned_data["size"],
                interval=form.cleaned_data["interval"],
            )
        except VendorError as exc:
            error = failure_text(exc, account.spec.label)
    response = render_page(
        request,
        "surfly/session_detail.html",
        _detail_context(
            request, account, session, shot=shot, shot_error=error, shot_form=form
        ),
        partial="shot",
    )
    return allow_screenshots_from(response, account)


# --- history ----------------------------------------------------------------------
# A tag on at most this many sessions is read from the tag index as a list of ids;
# a commoner one is checked row by row while walking the page order (a page of 50
# is found within a few thousand rows).
RARE_TAG = 2000
#: The index keeps tags at most this long (core.ActivityTag.tag).
TAG_WIDTH = ActivityTag._meta.get_field("tag").max_length


def _tag_filter(account, tag: str) -> Q:
    """Sessions with this whole tag, in any case, through the control room's tag
    index (`core.ActivityTag`, kept by every write path; never by scanning the
    JSON text of every session). A session is the activity of the same key."""
    tagged = ActivityTag.objects.filter(
        workspace_id=account.workspace_id,
        tag=tag.lower()[:TAG_WIDTH],
        activity__account_id=account.pk,
        activity__kind=ActivityKind.COBROWSE,
    )
    ids = list(tagged.values_list("activity__external_id", flat=True)[: RARE_TAG + 1])
    if len(ids) <= RARE_TAG:
        return Q(external_id__in=ids)  # none at all: no query for the rows
    return Q(Exists(tagged.filter(activity__external_id=OuterRef("external_id"))))


def filter_history(qs, form: HistoryFilterForm, account):
    """Apply the valid filters of `form`; invalid ones are shown, not applied."""
    if not form.is_bound:
        return qs
    form.is_valid()
    data = form.cleaned_data
    active = data.get("active_session")
    if active in ("true", "false"):
        qs = qs.filter(is_active=active == "true")
    agent = data.get("agent")
    if agent == "null":
        qs = qs.filter(agent_id="")
    elif agent:
        qs = qs.filter(agent_id=agent)
    pin = (data.get("pin") or "").strip()
    if pin == "null":
        qs = qs.filter(pin="")
    elif pin:
        qs = qs.filter(pin=pin)
    tags = [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()]
    if tags == ["null"]:
        qs = qs.filter(tags=[])
    for tag in tags if tags != ["null"] else []:
        qs = qs.filter(_tag_filter(account, tag))  # filters stack, as at Surfly
    if data.get("min_duration") is not None:
        qs = qs.filter(duration__gte=data["min_duration"])
    if data.get("max_duration") is not None:
        qs = qs.filter(duration__lte=data["max_duration"])
    tz = timezone.get_current_timezone()
    if data.get("since"):
        qs = qs.filter(start_time__gte=datetime.combine(data["since"], time.min, tz))
    if data.get("until"):
        # Inclusive "to" date: everything before the next midnight.
        end = datetime.combine(data["until"] + timedelta(days=1), time.min, tz)
        qs = qs.filter(start_time__lt=end)
    return qs


_RUNNING = badge("running", "active")
_ENDED = badge("skipped", "ended")


def history_row_html(s) -> SafeString:
    """One history table row, formatted in Python: 50 rows through per-cell
    template nodes and filters cost more than the rest of the page together.
    Escaped as the template escaped it (tests/vendors/surfly/test_history_rows.py
    compares the two)."""
    started = "—"
    if s.start_time:
        started = timezone.template_localtime(s.start_time).strftime("%Y-%m-%d %H:%M")
    tags = "".join(f'<span class="badge">{esc(t)}</span> ' for t in s.tags or ())
    return SafeString(
        f'<tr><td class="nowrap"><a href="{esc(s.detail_url)}">{esc(s)}</a></td>'
        f'<td class="nowrap">{started}</td>'
        f'<td class="num">{esc(duration(s.duration))}</td>'
        f"<td>{esc(s.agent_label or '—')}</td>"
        f'<td class="mono">{esc(s.pin or "—")}</td>'
        f"<td>{tags or '—'}</td>"
        f'<td class="mono">{esc(clip(s.start_url, 60))}</td>'
        f"<td>{_RUNNING if s.is_active else _ENDED}</td></tr>"
    )


def _page(qs, params):
    try:
        return keyset_page(qs, params, "start_time")
    except (ValidationError, ValueError, TypeError, OverflowError):
        # A hand-edited cursor that decodes but names no valid time: start over.
        params = params.copy()
        params.pop("after", None)
        return keyset_page(qs, params, "start_time")


@role_required(Role.MANAGER)
@cached_page()
def history(request, account_id: int):
    account = surfly_account(request, account_id)
    agents = local_agents(account)
    form = HistoryFilterForm(request.GET or None, agents=agents)
    qs = filter_history(_sessions(account), form, account)
    if request.GET.get("format") == "csv":
        return history_csv_response(account, qs)
    page = _page(qs.defer(*CobrowseSession.LIST_DEFER), request.GET)
    names = {a.external_id: str(a) for a in agents}
    for row in page.rows:
        row.agent_label = names.get(row.agent_id, row.agent_id)
    _row_urls(account, page.rows, "detail")
    for row in page.rows:
        row.html = history_row_html(row)
    params = request.GET.copy()
    params.pop("after", None)
    params.pop("format", None)
    csv_query = params.copy()
    csv_query["format"] = "csv"
    return render_page(
        request,
        "surfly/history.html",
        page_context(
            request,
            account,
            form=form,
            page=page,
            # Only asked when nothing matched (the "no rows yet" message).
            has_any=bool(page.rows) or _sessions(account).exists(),
            csv_url="?" + csv_query.urlencode(),
        ),
        partial="results",
    )


def surfly_filters(form: HistoryFilterForm) -> dict:
    """The history page's valid filters as Surfly's /history/ parameters."""
    if not form.is_bound or not form.is_valid():
        return {}
    data, tz = form.cleaned_data, timezone.get_current_timezone()
    out = {
        "active_session": {"true": True, "false": False}.get(
            data.get("active_session")
        ),
        "agent_id": data.get("agent") or None,
        "pin": (data.get("pin") or "").strip() or None,
        "tags": split_list(data.get("tags") or "") or None,
        "min_duration": data.get("min_duration"),
        "max_duration": data.get("max_duration"),
    }
    if data.get("since"):
        out["min_date"] = datetime.combine(data["since"], time.min, tz).isoformat()
    if data.get("until"):
        end = datetime.combine(data["until"] + timedelta(days=1), time.min, tz)
        out["max_date"] = end.isoformat()
    return {k: v for k, v in out.items() if v is not None}


@role_required(Role.MANAGER)
@require_POST
def sessions_check(request, account_id: int):
    """Compare the stored sessions with Surfly's and store what differs: through
    the paged history (with the page's filters), or Surfly's full session list."""
    account = surfly_account(request, account_id)
    label = account.spec.label
    form = HistoryFilterForm(request.POST, agents=local_agents(account))
    how = "list" if request.POST.get("how") == "list" else "history"
    filters = surfly_filters(form) if how == "history" else {}
    try:
        counts = services.check_sessions(account, how=how, filters=filters)
    except VendorError as exc:
        report_failure(request, exc, "checked", label)
    else:
        listed = counts.created + counts.updated + counts.unchanged
        scope = "matching sessions" if filters else "sessions"
        if counts.created or counts.updated:
            messages.success(
                request,
                f"{label} has {listed} {scope}: {counts.created} were not stored "
                f"here yet and {counts.updated} had changed; all are stored now.",
            )
        else:
            messages.info(
                request,
                f"{label} has {listed} {scope} and every one is stored here as it is.",
            )
    return redirect("surfly:history", account_id=account.pk)


@role_required(Role.MANAGER)
def history_csv(request, account_id: int):
    account = surfly_account(request, account_id)
    form = HistoryFilterForm(request.GET or None, agents=local_agents(account))
    return history_csv_response(
        account, filter_history(_sessions(account), form, account)
    )


CSV_COLUMNS = [
    "session_id",
    "id",
    "formatted_id",
    "start_time",
    "end_time",
    "duration_s",
    "active",
    "agent_id",
    "agent",
    "pin",
    "tags",
    "start_url",
    "follower_link",
    "participants",
    "successful_start",
    "queued",
    "waiting_time_s",
    "server",
]


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # Keep spreadsheets from running a cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def history_csv_response(account, qs) -> StreamingHttpResponse:
    """Every filtered row, streamed: rows are read in chunks, never all at once."""
    names = agent_names(account)
    fields = [
        "external_id",
        "api_id",
        "formatted_id",
        "start_time",
        "end_time",
        "duration",
        "is_active",
        "agent_id",
        "pin",
        "tags",
        "start_url",
        "follower_link",
        "participant_num",
        "successful_start",
        "queued",
        "waiting_time",
        "server",
    ]
    rows = (
        qs.order_by("-start_time", "-pk").values_list(*fields).iterator(chunk_size=2000)
    )

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(CSV_COLUMNS)
        for r in rows:
            record = dict(zip(fields, r, strict=True))
            tags = record["tags"] if isinstance(record["tags"], list) else []
            yield writer.writerow(
                [_cell(record[f]) for f in fields[:8]]
                + [_cell(names.get(record["agent_id"], ""))]
                + [_cell(record["pin"]), _cell(", ".join(map(str, tags)))]
                + [_cell(record[f]) for f in fields[10:]]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="surfly-history-{account.pk}-{stamp}.csv"'
    )
    return response
