"""Seats and usage per client: a reseller workspace's page with one row per client
workspace and a column group per registered vendor (agents, licences, idle paid
seats, activities and minutes this month and last month, last activity, health),
and the same figures as CSV.

Everything is read from the local database with a fixed number of queries,
whatever the number of clients: the clients, their accounts (with each account's
newest activity as a subquery on the index), their directory agents, their usage
rollups summed over date segments, the recent per-agent rollups, and one query
per vendor that tells licences (`VendorSpec.seat_licences`). Never a vendor call.

Months and the 30-day window are counted in each client workspace's own time
zone: the rollups' days already are (`UsageDay` is kept in the workspace's zone).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Max, OuterRef, Q, Subquery, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString

from cobrowse_portal.vendorkit import registry

from ..choices import AccountStatus, Role
from ..fasthtml import esc
from ..htmx import render_page
from ..models import Activity, UsageDay, UsageDayAgent, VendorAccount, VendorAgent
from ..permissions import reseller_required, role_required
from .control import workspace_tz

#: Paid seats with no activity in this many days are idle.
IDLE_DAYS = 30

#: Health of a client at a vendor, worst first: the worst of its enabled
#: accounts' statuses; "off" when every account is disabled (an archived
#: client's are), "none" without an account.
HEALTH = {
    AccountStatus.NEEDS_ATTENTION: ("Needs attention", "orange"),
    AccountStatus.FAILING: ("Failing", "red"),
    AccountStatus.NEW: ("Not synced yet", "grey"),
    AccountStatus.OK: ("OK", "green"),
    "off": ("Accounts off", "grey"),
    "none": ("No account", "grey"),
}
_WORST = list(HEALTH)


def _rank(status: str) -> int:
    return _WORST.index(status) if status in HEALTH else len(_WORST)


def now() -> datetime:
    """The page's clock (tests put the month boundary where they need it)."""
    return timezone.now()


def _month_start(day: date, back: int = 0) -> date:
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


@dataclass
class Cell:
    """One client's figures at one vendor."""

    accounts: int = 0
    health: str = "none"
    #: Directory agents (not removed); None: the vendor feeds no directory.
    agents: int | None = None
    licences: int | None = None
    #: Agents active in the window (directory agents, or for a vendor without
    #: a directory the agents its activities name); None: cannot tell.
    active: int | None = None
    #: Licensed seats minus active agents; None: no licence figure, or the
    #: activities name no agent so the used seats are unknown.
    idle: int | None = None
    idle_note: str = ""
    #: Directory agents with no activity in the window: (name, last seen or None).
    idle_agents: list = field(default_factory=list)
    activities_this: int = 0
    seconds_this: int = 0
    activities_last: int = 0
    seconds_last: int = 0
    activities_window: int = 0
    last_activity: datetime | None = None

    @property
    def minutes_this(self) -> int:
        return round(self.seconds_this / 60)

    @property
    def minutes_last(self) -> int:
        return round(self.seconds_last / 60)


@dataclass
class ClientRow:
    workspace: object
    tz: object
    this_month: date
    last_month: date
    cutoff: date  # first day of the 30-day window, in the client's zone
    tomorrow: date  # the day after the client's today (days on or after: ignored)
    cells: dict = field(default_factory=dict)  # vendor slug -> Cell

    @property
    def archived(self) -> bool:
        return self.workspace.archived_at is not None


def seat_table(reseller, specs, *, include_archived: bool, at=None):
    """(rows, archived_hidden): a ClientRow per client workspace of `reseller`
    (archived ones only with `include_archived`), with a Cell per spec, as at
    `at` (now by default)."""
    at = at or now()
    clients = list(reseller.clients.order_by("name", "pk"))
    hidden = 0 if include_archived else sum(c.archived_at is not None for c in clients)
    if not include_archived:
        clients = [c for c in clients if c.archived_at is None]
    rows: dict[int, ClientRow] = {}
    for ws in clients:
        tz = workspace_tz(ws)
        today = at.astimezone(tz).date()
        rows[ws.pk] = ClientRow(
            workspace=ws,
            tz=tz,
            this_month=_month_start(today),
            last_month=_month_start(today, 1),
            cutoff=(at - timedelta(days=IDLE_DAYS)).astimezone(tz).date(),
            tomorrow=today + timedelta(days=1),
            cells={spec.slug: Cell() for spec in specs},
        )
    if not rows:
        return [], hidden
    ids = list(rows)
    slugs = {spec.slug for spec in specs}

    # Accounts, their health and each one's newest activity: one query (an index
    # probe per account, core_act_ws_account, never a scan of the index).
    newest = (
        Activity.objects.filter(
            workspace=OuterRef("workspace_id"),
            account=OuterRef("pk"),
            started_at__isnull=False,
            removed_at__isnull=True,
        )
        .order_by("-started_at", "-id")
        .values("started_at")[:1]
    )
    accounts = list(
        VendorAccount.objects.filter(workspace_id__in=ids, vendor__in=slugs)
        .order_by()
        .annotate(newest=Subquery(newest))
        .values_list("pk", "workspace_id", "vendor", "enabled", "status", "newest")
    )
    account_of: dict[int, tuple[int, str]] = {}
    states: dict[tuple[int, str], list[str]] = {}
    for pk, ws_id, vendor, enabled, status, started in accounts:
        account_of[pk] = (ws_id, vendor)
        cell = rows[ws_id].cells[vendor]
        cell.accounts += 1
        states.setdefault((ws_id, vendor), []).append(status if enabled else "off")
        if started and (cell.last_activity is None or started > cell.last_activity):
            cell.last_activity = started
    for (ws_id, vendor), found in states.items():
        on = [s for s in found if s != "off"] or ["off"]
        rows[ws_id].cells[vendor].health = min(on, key=_rank)

    # Usage rollups, summed by the database over the segments between every
    # client's month starts and window start (a handful of distinct dates
    # whatever the number of clients: time zones shift them by a day at most).
    bounds = sorted(
        {
            d
            for r in rows.values()
            for d in (r.last_month, r.this_month, r.cutoff, r.tomorrow)
        }
    )
    segments = list(zip(bounds, bounds[1:], strict=False))
    sums = {}
    for i, (start, end) in enumerate(segments):
        q = Q(day__gte=start, day__lt=end)
        sums[f"n{i}"] = Sum("activities", filter=q)
        sums[f"s{i}"] = Sum("seconds", filter=q)
    usage = (
        UsageDay.objects.filter(
            workspace_id__in=ids,
            vendor__in=slugs,
            day__gte=bounds[0],
            day__lt=bounds[-1],
        )
        .order_by()
        .values("workspace_id", "vendor")
        .annotate(**sums)
    )
    for figures in usage:
        row = rows[figures["workspace_id"]]
        cell = row.cells[figures["vendor"]]
        for i, (start, _end) in enumerate(segments):
            n, s = figures[f"n{i}"] or 0, figures[f"s{i}"] or 0
            if start >= row.tomorrow:
                continue  # a day that has not come yet in the client's zone
            if start >= row.this_month:
                cell.activities_this += n
                cell.seconds_this += s
            elif start >= row.last_month:
                cell.activities_last += n
                cell.seconds_last += s
            if start >= row.cutoff:
                cell.activities_window += n

    # Agents seen in the activities of the window (per account and vendor agent
    # id, as the rollups key them), and the day each was last seen.
    seen: dict[tuple[int, str], date] = {}
    seen_keys: dict[tuple[int, str], set] = {}  # (client, vendor) -> keys
    if account_of:
        for account_id, key, last in (
            UsageDayAgent.objects.filter(
                account_id__in=list(account_of),
                day__gte=min(r.cutoff for r in rows.values()),
            )
            .order_by()
            .values("account_id", "agent_key")
            .annotate(last=Max("day"))
            .values_list("account_id", "agent_key", "last")
        ):
            ws_id, vendor = account_of[account_id]
            if last >= rows[ws_id].cutoff:
                seen[(account_id, key)] = last
                seen_keys.setdefault((ws_id, vendor), set()).add((account_id, key))
    recent = at - timedelta(days=IDLE_DAYS)

    # The directory: agents or users of each client's own accounts, not removed.
    with_directory = {spec.slug for spec in specs if spec.agents}
    for ws_id, vendor, account_id, key, name, email, last_at in (
        VendorAgent.objects.filter(
            workspace_id__in=ids, vendor__in=with_directory, removed_at__isnull=True
        )
        .order_by("name", "email", "pk")
        .values_list(
            "workspace_id",
            "vendor",
            "account_id",
            "external_id",
            "name",
            "email",
            "last_activity_at",
        )
    ):
        cell = rows[ws_id].cells[vendor]
        cell.agents = (cell.agents or 0) + 1
        cell.active = cell.active or 0
        if (account_id, key) in seen or (last_at is not None and last_at >= recent):
            cell.active += 1
        else:
            cell.idle_agents.append((name or email or key, last_at))
    for row in rows.values():
        for spec in specs:
            cell = row.cells[spec.slug]
            if not cell.accounts:
                # Nothing of the client's own at this vendor to tell which
                # seats are used (licences may still be on the reseller's side).
                cell.idle_note = (
                    f"no {spec.label} account in this client workspace, so the "
                    "seats in use are unknown"
                )
            elif spec.slug in with_directory:
                if cell.agents is None:
                    cell.agents = cell.active = 0
            elif cell.activities_window == 0:
                cell.active = 0  # no activity at all: every seat is idle
            else:
                keys = seen_keys.get((row.workspace.pk, spec.slug), ())
                cell.active = len(keys) or None
                if cell.active is None:
                    cell.idle_note = (
                        f"{spec.label} activities name no agent, so the seats in "
                        "use are unknown"
                    )

    # Licences, from the vendors that tell them (one query each).
    for spec in specs:
        if not spec.seat_licences:
            continue
        found = import_string(spec.seat_licences)(reseller, ids)
        for ws_id, figures in found.items():
            if ws_id in rows:
                rows[ws_id].cells[spec.slug].licences = figures.get("licences")
    for row in rows.values():
        for spec in specs:
            cell = row.cells[spec.slug]
            if cell.licences is None:
                cell.idle_agents = []  # no paid seats to call idle
                continue
            if cell.active is None:
                continue  # idle_note says why
            cell.idle = max(cell.licences - cell.active, 0)
    return list(rows.values()), hidden


# --- the page --------------------------------------------------------------------
def _choices(request):
    """(specs, include_archived, vendor, notes) from the query string."""
    specs = registry.all_vendors()
    notes = []
    vendor = request.GET.get("vendor", "")
    if vendor:
        picked = [s for s in specs if s.slug == vendor]
        if picked:
            specs = picked
        else:
            notes.append("Unknown vendor: showing all vendors.")
            vendor = ""
    include_archived = request.GET.get("archived", "") in ("1", "on", "true")
    return specs, include_archived, vendor, notes


def _num(value) -> str:
    return "—" if value is None else str(int(value))


def _when(value, tz) -> str:
    if value is None:
        return "—"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _idle_html(cell: Cell, tz) -> str:
    if cell.licences is None:
        return "—"  # no paid seats known: nothing to call idle
    if cell.idle is None:
        if cell.idle_note:
            return (
                f'<span class="text-body-secondary" title="{esc(cell.idle_note)}">'
                "?</span>"
            )
        return "—"
    if not cell.idle:
        return "0"
    listed = ""
    if cell.idle_agents:
        items = "".join(
            f'<li>{esc(name)} <span class="text-body-secondary">'
            f"{'last active ' + esc(_when(last, tz)) if last else 'no activity seen'}"
            "</span></li>"
            for name, last in cell.idle_agents
        )
        listed = (
            '<details class="seat-idle"><summary class="small text-nowrap">'
            f"{len(cell.idle_agents)} inactive agent"
            f"{'s' if len(cell.idle_agents) != 1 else ''}</summary>"
            f'<ul class="list-unstyled small mb-0">{items}</ul></details>'
        )
    return (
        f'<span class="badge badge-orange idle-seats" title="{cell.idle} of '
        f'{cell.licences} paid seats with no activity in {IDLE_DAYS} days">'
        f"{cell.idle} idle</span>{listed}"
    )


def _cells_html(cell: Cell, tz) -> str:
    label, colour = HEALTH.get(cell.health, HEALTH["none"])
    health = f'<span class="badge badge-{esc(colour)}">{esc(label)}</span>'
    if not cell.accounts and cell.licences is None:
        dash = '<td class="text-end text-body-secondary">—</td>'
        return (
            '<td class="text-end text-body-secondary border-start">—</td>'
            + dash * 5
            + f"<td>{health}</td>"
        )
    return (
        f'<td class="text-end border-start">{_num(cell.agents)}</td>'
        f'<td class="text-end">{_num(cell.licences)}</td>'
        f'<td class="text-end">{_idle_html(cell, tz)}</td>'
        f'<td class="text-end">{cell.activities_this} · {cell.minutes_this}</td>'
        f'<td class="text-end">{cell.activities_last} · {cell.minutes_last}</td>'
        f'<td class="text-nowrap small">{_when(cell.last_activity, tz)}</td>'
        f"<td>{health}</td>"
    )


def table_body(rows, specs) -> SafeString:
    """The table's rows, formatted in Python: a reseller's hundreds of clients
    times five vendors' seven cells are too many for per-cell template nodes.
    Client names and agent names are escaped; the rest are numbers and dates."""
    out = []
    for row in rows:
        ws = row.workspace
        archived = row.archived
        badge = ' <span class="badge badge-grey">archived</span>' if archived else ""
        out.append(
            f'<tr class="{"text-body-tertiary seat-archived" if archived else ""}" '
            f'data-client="{esc(ws.slug)}">'
            f'<th scope="row" class="text-nowrap">{esc(ws.name)}{badge}'
            f'<div class="small text-body-secondary">{esc(ws.time_zone)}</div></th>'
            + "".join(_cells_html(row.cells[spec.slug], row.tz) for spec in specs)
            + "</tr>"
        )
    return SafeString("".join(out))


@role_required(Role.MANAGER)
@reseller_required
def seats(request):
    specs, include_archived, vendor, notes = _choices(request)
    rows, hidden = seat_table(
        request.workspace, specs, include_archived=include_archived, at=now()
    )
    # A vendor no listed client has an account or licences at is named in a
    # note instead of a group of empty columns (the CSV keeps every column).
    shown = [
        spec
        for spec in specs
        if vendor
        or any(
            row.cells[spec.slug].accounts or row.cells[spec.slug].licences is not None
            for row in rows
        )
    ]
    unused = [spec.label for spec in specs if spec not in shown]
    query = request.GET.urlencode()
    idle = sum(
        1
        for row in rows
        for cell in row.cells.values()
        if cell.idle and not row.archived
    )
    return render_page(
        request,
        "core/seats.html",
        {
            "specs": shown,
            "unused": unused,
            "all_specs": registry.all_vendors(),
            "vendor": vendor,
            "include_archived": include_archived,
            "archived_hidden": hidden,
            "rows": rows,
            "body": table_body(rows, shown),
            "idle_flags": idle,
            "idle_days": IDLE_DAYS,
            "notes": notes,
            "csv_query": f"?{query}" if query else "",
        },
        partial="seats-table",
    )


#: Per vendor, in this order, `<slug>_<name>`.
CSV_FIELDS = (
    "accounts",
    "agents",
    "licences",
    "active_agents_30d",
    "idle_seats",
    "activities_this_month",
    "minutes_this_month",
    "activities_last_month",
    "minutes_last_month",
    "last_activity",
    "health",
)


def _csv_cells(cell: Cell, tz) -> list:
    def blank(v):
        return "" if v is None else v

    return [
        cell.accounts,
        blank(cell.agents),
        blank(cell.licences),
        blank(cell.active),
        blank(cell.idle),
        cell.activities_this,
        cell.minutes_this,
        cell.activities_last,
        cell.minutes_last,
        cell.last_activity.astimezone(tz).isoformat() if cell.last_activity else "",
        cell.health,
    ]


def _text(value: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@role_required(Role.MANAGER)
@reseller_required
def seats_csv(request):
    specs, include_archived, _, _ = _choices(request)
    rows, _ = seat_table(
        request.workspace, specs, include_archived=include_archived, at=now()
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    today = now().date().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="seats-{request.workspace.slug}-{today}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        ["client", "slug", "time_zone", "archived", "this_month", "last_month"]
        + [f"{spec.slug}_{name}" for spec in specs for name in CSV_FIELDS]
    )
    for row in rows:
        ws = row.workspace
        writer.writerow(
            [
                _text(ws.name),
                ws.slug,
                ws.time_zone,
                "yes" if row.archived else "no",
                row.this_month.strftime("%Y-%m"),
                row.last_month.strftime("%Y-%m"),
            ]
            + [v for spec in specs for v in _csv_cells(row.cells[spec.slug], row.tz)]
        )
    return response
