"""The control room's cross-vendor pages: Live and Activity (with its CSV export).

They read only the local index (`core.Activity`), never a vendor, always within
`request.workspace`. Vendor-specific behaviour comes from the registry; an account
whose vendor is not registered (yet) still shows, under its slug.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import BooleanField, Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.http import StreamingHttpResponse
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from cobrowse_portal.vendorkit import registry

from .. import copycsv, search
from ..choices import BADGES, OPEN_STATUSES, ActivityKind, ActivityStatus, Role
from ..fasthtml import clip, format_html, format_html_join
from ..htmx import render_page
from ..models import Activity, ActivityTag, AgentIdentity
from ..pagecache import cached_page
from ..pagination import keyset_page
from ..permissions import role_required, workspace_accounts
from ..widgets import FastWidgetsMixin

PAGE_SIZE = 50
LIVE_LIMIT = 500
MAX_MINUTES = 10**6
#: A tag on at most this many activities is read from the tag index as ids; a
#: commoner one is checked row by row while walking the page order.
RARE_TAG = 2000
#: The columns a list page reads (never `search` or the rollup bookkeeping).
LIST_FIELDS = (
    "id",
    "account_id",
    "vendor",
    "kind",
    "external_id",
    "status",
    "started_at",
    "ended_at",
    "duration",
    "agent_id",
    "agent_name",
    "visitor",
    "url",
    "title",
    "tags",
    "link",
)


# --- shared helpers ----------------------------------------------------------------
def spec_for(slug: str):
    """The vendor's spec, or None for a vendor that is not registered."""
    try:
        return registry.get(slug)
    except KeyError:
        return None


def vendor_label(slug: str) -> str:
    spec = spec_for(slug)
    return spec.label if spec else slug


def workspace_tz(workspace) -> ZoneInfo:
    try:
        return ZoneInfo(workspace.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_today(workspace):
    return timezone.now().astimezone(workspace_tz(workspace)).date()


def human_duration(seconds) -> str:
    """Seconds as a person writes them: "45 s", "15 min", "1 h 5 min", "2 days"."""
    if seconds in (None, ""):
        return "—"
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min"
    if total < 86400:
        h, m = divmod(total // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(total // 3600, 24)
    days = f"{d} day" if d == 1 else f"{d} days"
    return f"{days} {h} h" if h else days


def _sane_date(value):
    # Dates at the ends of the calendar overflow once shifted by a time zone.
    if value and not 1900 <= value.year <= 9998:
        raise forms.ValidationError("Pick a date between 1900 and 9998.")
    return value


def _accounts_by_pk(request) -> dict:
    return {a.pk: a for a in workspace_accounts(request)}


def decorate_rows(request, rows) -> None:
    """Labels for the table: account name, vendor label, durations (no query)."""
    accounts = _accounts_by_pk(request)
    labels: dict[str, str] = {}
    for row in rows:
        account = accounts.get(row.account_id)
        row.account_name = account.name if account else ""
        if row.vendor not in labels:
            labels[row.vendor] = vendor_label(row.vendor)
        row.vendor_label = labels[row.vendor]
        row.duration_text = human_duration(row.duration)
        row.tag_list = row.tags if isinstance(row.tags, list) else []


_BADGE = {"live": "green", "queued": "grey", "ended": "grey"}
_KINDS = dict(ActivityKind.choices)
_STATUSES = dict(ActivityStatus.choices)


def _started(a) -> str:
    """When an activity started, in the workspace's time (the active zone)."""
    if not a.started_at:
        return "—"
    return timezone.localtime(a.started_at).strftime("%Y-%m-%d %H:%M")


def _tag_badges(a) -> str:
    if not a.tag_list:
        return "—"
    return format_html_join(
        " ", '<span class="badge text-bg-light">{}</span>', ((t,) for t in a.tag_list)
    )


def row_html(a) -> str:
    """One Activity table row, formatted in Python: a page of 50 rows through the
    template engine's per-cell nodes costs more than every query of the page."""
    started = _started(a)
    when = format_html('<a href="{}">{}</a>', a.link, started) if a.link else started
    tags = _tag_badges(a)
    return format_html(
        '<tr data-activity="{}"><td class="text-nowrap">{}</td>'
        '<td class="text-nowrap">{}</td><td>{}</td><td>{}</td>'
        '<td><span class="badge badge-{}">{}</span></td>'
        '<td class="num text-end text-nowrap">{}</td><td>{}</td><td>{}</td>'
        '<td class="mono text-break">{}</td><td>{}</td><td>{}</td></tr>',
        a.pk,
        when,
        a.vendor_label,
        a.account_name,
        _KINDS.get(a.kind, a.kind),
        _BADGE.get(a.status, "grey"),
        _STATUSES.get(a.status, a.status),
        a.duration_text,
        a.agent_name or "—",
        a.visitor or "—",
        clip(a.url, 60) or "—",
        clip(a.title, 60) or "—",
        tags,
    )


def live_row_html(a, *, csrf_input: str, live_url: str) -> str:
    """One Live board row, formatted in Python like the Activity rows: the board
    shows up to LIVE_LIMIT rows every 5 s, and the template engine's per-cell
    nodes cost ten times the board's query."""
    kind = _KINDS.get(a.kind, a.kind)
    started = _started(a)
    tags = _tag_badges(a)
    actions = []
    if a.link:
        actions.append(
            format_html(
                '<a class="btn btn-sm btn-outline-secondary" href="{}">Open</a>', a.link
            )
        )
    if a.end_url:
        actions.append(
            format_html(
                '<form method="post" action="{}" class="d-inline">{}'
                '<input type="hidden" name="next" value="{}">'
                '<button type="submit" class="btn btn-sm btn-outline-danger" '
                'data-confirm="End this {}?">End</button></form>',
                a.end_url,
                csrf_input,
                live_url,
                str(kind).lower(),
            )
        )
    return format_html(
        '<tr><td class="text-nowrap">{}</td><td>{}</td><td>{}</td>'
        '<td><span class="badge badge-{}">{}</span></td>'
        '<td class="text-nowrap">{}</td><td>{}</td><td>{}</td>'
        '<td class="mono text-break">{}</td><td>{}</td><td>{}</td>'
        '<td class="text-nowrap">{}</td></tr>',
        a.vendor_label,
        a.account_name,
        kind,
        BADGES.get(str(a.status), "grey"),
        _STATUSES.get(a.status, a.status),
        started,
        a.agent_name or "—",
        a.visitor or "—",
        clip(a.url, 60) or "—",
        clip(a.title, 60) or "—",
        tags,
        mark_safe(" ".join(actions)),  # noqa: S308  (each part built by format_html)
    )


def _open_condition() -> RawSQL:
    """`status IN ('queued', 'live')` with the values written into the SQL.

    SQLite uses a partial index only when the query's WHERE repeats the index's
    condition literally: with the statuses as bound parameters (what `status__in`
    sends) it cannot prove the condition, walks the workspace's whole
    `core_act_ws_start` instead (200 ms at a million rows) and never reads
    `core_act_ws_open`. The values are this module's constants, never input."""
    values = [str(s) for s in OPEN_STATUSES]
    assert all(v.isidentifier() for v in values)
    listed = ", ".join(f"'{v}'" for v in values)
    table = Activity._meta.db_table
    return RawSQL(f'"{table}"."status" IN ({listed})', [], output_field=BooleanField())


def open_rows(workspace):
    """The workspace's queued and live activities, through the partial index
    `core_act_ws_open` (its condition exactly, in its order) on every backend."""
    return Activity.objects.filter(
        _open_condition(), workspace=workspace, removed_at__isnull=True
    )


def end_action(spec, link: str) -> str:
    """The URL of the vendor's end action for an activity whose page is `link`.

    A vendor declares `VendorSpec.end_activity`: the URL name of a POST view that
    ends one activity and takes the same URL keywords as the activity's own page
    (`Activity.link`); no vendor declares it: no end button (the row still links
    to its page)."""
    name = spec.end_activity if spec else ""
    if not name or not link:
        return ""
    return _end_url(name, link)


@lru_cache(maxsize=20_000)
def _end_url(name: str, link: str) -> str:
    # The Live board polls every 5 s over the same rows: resolve and reverse each
    # link once per process, not on every refresh.
    try:
        return reverse(name, kwargs=resolve(link).kwargs)
    except (Resolver404, NoReverseMatch):
        return ""


# --- Live --------------------------------------------------------------------------
@role_required(Role.AGENT)
@cached_page(bucket=1)
def live(request):
    qs = (
        open_rows(request.workspace)
        .only(*LIST_FIELDS)
        .order_by(F("started_at").desc(nulls_first=True), "-id")
    )
    rows = list(qs[: LIVE_LIMIT + 1])
    truncated = len(rows) > LIVE_LIMIT
    rows = rows[:LIVE_LIMIT]
    decorate_rows(request, rows)
    csrf_input = format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">',
        get_token(request),
    )
    live_url = reverse("core:live")
    specs: dict = {}
    with timezone.override(workspace_tz(request.workspace)):
        for row in rows:
            if row.vendor not in specs:
                specs[row.vendor] = spec_for(row.vendor)
            row.end_url = end_action(specs[row.vendor], row.link)
            row.html = live_row_html(row, csrf_input=csrf_input, live_url=live_url)
        return render_page(
            request,
            "core/control/live.html",
            {"rows": rows, "truncated": truncated, "limit": LIVE_LIMIT},
            partial="board",
        )


# --- Activity ----------------------------------------------------------------------
class ActivityFilterForm(FastWidgetsMixin, forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "agent, visitor, URL, title, tag", "type": "search"}
        ),
    )
    vendor = forms.ChoiceField(required=False)
    account = forms.ChoiceField(required=False)
    agent = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *ActivityStatus.choices],
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "Any kind"), *ActivityKind.choices],
    )
    tag = forms.CharField(
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "tag"}),
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    min_minutes = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_MINUTES, label="Min minutes"
    )
    max_minutes = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_MINUTES, label="Max minutes"
    )

    def __init__(self, *args, accounts=(), agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        vendors = sorted({a.vendor for a in accounts})
        self.fields["vendor"].choices = [("", "Any vendor")] + [
            (v, vendor_label(v)) for v in vendors
        ]
        self.fields["account"].choices = [("", "Any account")] + [
            (str(a.pk), f"{vendor_label(a.vendor)} · {a.name}") for a in accounts
        ]
        self.fields["agent"].choices = [("", "Any agent"), ("none", "No agent")] + [
            (str(pk), name or email) for pk, name, email in agents
        ]
        for field in self.fields.values():
            css = (
                "form-select"
                if isinstance(field, forms.ChoiceField)
                else "form-control"
            )
            field.widget.attrs.setdefault("class", f"{css} form-control-sm")
            if css == "form-select":
                field.widget.attrs["class"] = "form-select form-select-sm"

    def clean_since(self):
        return _sane_date(self.cleaned_data.get("since"))

    def clean_until(self):
        return _sane_date(self.cleaned_data.get("until"))


def _tag_filter(workspace, tag: str) -> Q:
    """Activities with this whole tag (any case), through the tag index."""
    tagged = ActivityTag.objects.filter(workspace=workspace, tag=tag.lower())
    ids = list(tagged.values_list("activity_id", flat=True)[: RARE_TAG + 1])
    if len(ids) <= RARE_TAG:
        return Q(pk__in=ids)
    return Q(Exists(tagged.filter(activity_id=OuterRef("pk"))))


def filter_activities(qs, form: ActivityFilterForm, workspace):
    """Apply the valid filters of `form`; invalid ones are shown, not applied."""
    if not form.is_bound:
        return qs
    form.is_valid()
    data = form.cleaned_data
    if data.get("vendor"):
        qs = qs.filter(vendor=data["vendor"])
    if data.get("account"):
        qs = qs.filter(account_id=int(data["account"]))
    agent = data.get("agent")
    if agent == "none":
        qs = qs.filter(agent__isnull=True)
    elif agent:
        qs = qs.filter(agent_id=int(agent))
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("kind"):
        qs = qs.filter(kind=data["kind"])
    tag = (data.get("tag") or "").strip()
    if tag:
        qs = qs.filter(_tag_filter(workspace, tag))
    if data.get("min_minutes") is not None:
        qs = qs.filter(duration__gte=data["min_minutes"] * 60)
    if data.get("max_minutes") is not None:
        qs = qs.filter(duration__lte=data["max_minutes"] * 60)
    tz = workspace_tz(workspace)
    if data.get("since"):
        qs = qs.filter(started_at__gte=datetime.combine(data["since"], time.min, tz))
    if data.get("until"):
        end = datetime.combine(data["until"] + timedelta(days=1), time.min, tz)
        qs = qs.filter(started_at__lt=end)
    text = " ".join((data.get("q") or "").split()).lower()
    if text:
        # Every row of the workspace, through the database's text index where the
        # term allows it (core.search; README "The control room").
        qs = search.text_filter(qs, text)
    return qs


def _activity_form(request):
    accounts = workspace_accounts(request)
    agents = list(
        AgentIdentity.objects.filter(workspace=request.workspace)
        .order_by("name", "email")
        .values_list("pk", "name", "email")
    )
    return ActivityFilterForm(request.GET or None, accounts=accounts, agents=agents)


def _page(qs, params):
    try:
        return keyset_page(qs, params, "started_at", size=PAGE_SIZE)
    except (ValidationError, ValueError, TypeError, OverflowError):
        params = params.copy()
        params.pop("after", None)
        return keyset_page(qs, params, "started_at", size=PAGE_SIZE)


def _activities(workspace):
    return Activity.objects.filter(workspace=workspace, removed_at__isnull=True)


@role_required(Role.MANAGER)
@cached_page()
def activity(request):
    form = _activity_form(request)
    qs = filter_activities(_activities(request.workspace), form, request.workspace)
    page = _page(qs.only(*LIST_FIELDS), request.GET)
    decorate_rows(request, page.rows)
    tz = workspace_tz(request.workspace)
    with timezone.override(tz):
        for row in page.rows:
            row.html = row_html(row)
    params = request.GET.copy()
    params.pop("after", None)
    csv_url = reverse("core:activity_csv") + (
        "?" + params.urlencode() if params else ""
    )
    with timezone.override(workspace_tz(request.workspace)):
        return render_page(
            request,
            "core/control/activity.html",
            {
                "form": form,
                "page": page,
                # Only asked when nothing matched (the "nothing yet" message).
                "has_any": bool(page.rows) or _activities(request.workspace).exists(),
                "csv_url": csv_url,
                "filtered": bool(params),
            },
            partial="results",
        )


CSV_COLUMNS = [
    "vendor",
    "account",
    "kind",
    "id",
    "status",
    "started",
    "ended",
    "duration_s",
    "agent",
    "visitor",
    "url",
    "title",
    "tags",
]
CSV_FIELDS = [
    "vendor",
    "account_id",
    "kind",
    "external_id",
    "status",
    "started_at",
    "ended_at",
    "duration",
    "agent_name",
    "visitor",
    "url",
    "title",
    "tags",
]
CSV_CHUNK = 2000


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # Keep spreadsheets from running a cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _when(value, tz) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # a raw value from a backend without converters
        return value
    return value.astimezone(tz).isoformat()


def activity_csv_lines(qs, accounts: dict, tz):
    """The CSV of `qs`, streamed: PostgreSQL writes it itself (`copy_csv_lines`)
    where it knows the workspace's time zone, elsewhere Python does
    (`python_csv_lines`); both give the same bytes. Decided when the body is first
    read, so nothing touches the database before that."""
    if csv_by_copy(qs.db, tz):
        yield from copy_csv_lines(qs, accounts, tz)
    else:
        yield from python_csv_lines(qs, accounts, tz)


def csv_by_copy(using: str, tz) -> bool:
    return connections[using].vendor == "postgresql" and _database_knows_zone(
        using, tz.key
    )


@lru_cache(maxsize=64)
def _database_knows_zone(using: str, key: str) -> bool:
    """Whether PostgreSQL's time zone data has `key` (it may lack a zone Python's
    has; then Python writes the CSV rather than COPY failing mid-download)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)", [key]
        )
        return cursor.fetchone()[0]


def copy_csv_lines(qs, accounts: dict, tz):
    """The same CSV as `python_csv_lines`, written by PostgreSQL (core.copycsv)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    labels = {spec.slug: spec.label for spec in registry.all_vendors()}
    names = {pk: _cell(a.name) for pk, a in accounts.items()}
    yield from copycsv.copy_csv_chunks(qs, labels, names, tz.key, CSV_CHUNK)


def python_csv_lines(qs, accounts: dict, tz):
    """The CSV, a batch of rows per chunk: rows are read `CSV_CHUNK` at a time
    from a cursor, never all at once, and nothing is held beyond one batch."""
    rows = (
        qs.order_by(F("started_at").desc(nulls_first=True), "-id")
        .values_list(*CSV_FIELDS)
        .iterator(chunk_size=CSV_CHUNK)
    )
    names = {pk: a.name for pk, a in accounts.items()}
    labels: dict[str, str] = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, (
        vendor,
        account_id,
        kind,
        ext,
        status,
        started,
        ended,
        duration,
        agent,
        visitor,
        url,
        title,
        tags,
    ) in enumerate(rows, 1):
        label = labels.get(vendor)
        if label is None:
            label = labels[vendor] = vendor_label(vendor)
        if isinstance(tags, str):  # JSON text on a backend without the decoder
            tags = [tags] if tags not in ("[]", "") else []
        writer.writerow(
            (
                label,
                _cell(names.get(account_id, "")),
                kind,
                _cell(ext),
                status,
                _when(started, tz),
                _when(ended, tz),
                "" if duration is None else duration,
                _cell(agent),
                _cell(visitor),
                _cell(url),
                _cell(title),
                _cell(", ".join(map(str, tags or ()))),
            )
        )
        if n % CSV_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


@role_required(Role.MANAGER)
def activity_csv(request):
    form = _activity_form(request)
    qs = filter_activities(_activities(request.workspace), form, request.workspace)
    tz = workspace_tz(request.workspace)
    response = StreamingHttpResponse(
        activity_csv_lines(qs, _accounts_by_pk(request), tz),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="activity-{request.workspace.slug}-{stamp}.csv"'
    )
    return response
