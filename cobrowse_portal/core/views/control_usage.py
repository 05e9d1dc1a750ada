"""Usage: activities, minutes and agents per day or week, by vendor or account,
from the daily rollups (`UsageDay`; weekly distinct agents from `UsageDayAgent`),
as charts (Chart.js, static/js/charts.js), the same numbers as a table, and CSV."""

from __future__ import annotations

import csv
from datetime import timedelta

from django import forms
from django.db import NotSupportedError, connection
from django.db.models import Count, DateField, Func, Sum, Value
from django.db.models.functions import Collate
from django.http import HttpResponse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from ..choices import Role
from ..htmx import render_page
from ..models import UsageDay, UsageDayAgent
from ..pagecache import cached_page
from ..permissions import role_required, workspace_accounts
from ..widgets import FastWidgetsMixin
from .control import _sane_date, local_today, vendor_label

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
METRICS = [("activities", "Activities"), ("minutes", "Minutes"), ("agents", "Agents")]


class UsageFilterForm(FastWidgetsMixin, forms.Form):
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    period = forms.ChoiceField(
        required=False, choices=[("day", "Per day"), ("week", "Per week")]
    )
    by = forms.ChoiceField(
        required=False, choices=[("vendor", "By vendor"), ("account", "By account")]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(field, forms.ChoiceField)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("id", f"usage-{name}")

    def clean_since(self):
        return _sane_date(self.cleaned_data.get("since"))

    def clean_until(self):
        return _sane_date(self.cleaned_data.get("until"))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” is after “To”.")
        if since and until and (until - since).days > MAX_DAYS:
            raise forms.ValidationError(f"Pick at most {MAX_DAYS} days.")
        return data


def _choices(request):
    """(since, until, period, by) from the query string; bad values: defaults."""
    form = UsageFilterForm(request.GET or None)
    today = local_today(request.workspace)
    since, until = today - timedelta(days=DEFAULT_DAYS - 1), today
    period, by = "day", "vendor"
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        until = data.get("until") or until
        since = data.get("since") or min(since, until)
        if (until - since).days > MAX_DAYS:
            since = until - timedelta(days=MAX_DAYS)
        period = data.get("period") or period
        by = data.get("by") or by
    return form, since, until, period, by


class WeekStart(Func):
    """The Monday of a date's ISO week, in the database's own date functions.

    Django's `TruncWeek` on SQLite calls a Python function per row (and casts
    through datetimes); over a year of per-agent rows that is most of the Usage
    page. PostgreSQL: `date_trunc('week', day)::date`."""

    output_field = DateField()
    arity = 1

    def as_sqlite(self, compiler, connection, **extra):
        # 'weekday 0' moves to the next Sunday (or stays on one): minus 6 days is
        # that week's Monday.
        return self.as_sql(
            compiler,
            connection,
            template="date(%(expressions)s, 'weekday 0', '-6 days')",
            **extra,
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            # A date cast to timestamp (not timestamptz): no time zone work.
            template="(date_trunc('week', (%(expressions)s)::timestamp))::date",
            **extra,
        )

    def as_sql(self, compiler, connection, template=None, **extra):
        if template is None:  # the portal runs on SQLite and PostgreSQL only
            raise NotSupportedError(f"WeekStart on {connection.vendor}")
        return super().as_sql(compiler, connection, template=template, **extra)


#: Agent keys are told apart byte by byte (a deterministic collation's equality):
#: PostgreSQL sorts them for the distinct count much faster in "C" than in the
#: database's linguistic collation.
_BYTES = {"postgresql": "C", "sqlite": "BINARY"}


def _week(day):
    return day - timedelta(days=day.weekday())  # ISO weeks start on Monday


def usage_table(request, since, until, period: str, by: str) -> tuple[list, list]:
    """(periods, rows): each row is one (period, group) with its three numbers."""
    accounts = {a.pk: a for a in workspace_accounts(request)}

    groups: dict[tuple, str] = {}

    def group_of(account_id, vendor):
        key = (account_id, vendor)
        if key not in groups:
            if by == "account":
                account = accounts.get(account_id)
                name = account.name if account else str(account_id)
                groups[key] = f"{vendor_label(vendor)} · {name}"
            else:
                groups[key] = vendor_label(vendor)
        return groups[key]

    rollups = UsageDay.objects.filter(
        workspace=request.workspace, day__gte=since, day__lte=until
    ).order_by()
    if period == "day":
        fetched = rollups.values_list(
            "account_id", "vendor", "day", "activities", "seconds", "agents"
        )
    else:
        # One row per (account, week), summed by the database: a year is ~53 rows
        # an account, not 365. Weekly agents are counted distinct below.
        fetched = (
            rollups.annotate(week=WeekStart("day"))
            .values("account_id", "vendor", "week")
            .annotate(n=Sum("activities"), s=Sum("seconds"), a=Value(0))
            .values_list("account_id", "vendor", "week", "n", "s", "a")
        )
    totals: dict[tuple, dict] = {}
    for account_id, vendor, day, n, seconds, agents in fetched:
        key = (day, group_of(account_id, vendor))
        row = totals.get(key)
        if row is None:
            row = totals[key] = {"activities": 0, "seconds": 0, "agents": 0}
        row["activities"] += n
        row["seconds"] += seconds
        row["agents"] += agents
    if period == "week" and accounts:
        # Distinct agents of each account over the whole week (not a sum of days).
        vendors = {pk: a.vendor for pk, a in accounts.items()}
        weekly = (
            UsageDayAgent.objects.filter(
                account_id__in=list(accounts), day__gte=since, day__lte=until
            )
            .annotate(week=WeekStart("day"))
            .values("account_id", "week")
            .annotate(
                n=Count(Collate("agent_key", _BYTES[connection.vendor]), distinct=True)
            )
            .order_by()
            .values_list("account_id", "week", "n")
        )
        for account_id, week, n in weekly:
            week = week.date() if hasattr(week, "date") else week
            key = (week, group_of(account_id, vendors[account_id]))
            totals.setdefault(key, {"activities": 0, "seconds": 0, "agents": 0})
            totals[key]["agents"] += n
    if period == "day":
        periods = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    else:
        start, periods = _week(since), []
        while start <= until:
            periods.append(start)
            start += timedelta(days=7)
    rows = [
        {
            "period": key[0],
            "group": key[1],
            "activities": v["activities"],
            "minutes": round(v["seconds"] / 60),
            "agents": v["agents"],
        }
        for key, v in sorted(totals.items())
    ]
    return periods, rows


def chart_data(periods, rows) -> dict:
    groups = sorted({r["group"] for r in rows})
    index = {p: i for i, p in enumerate(periods)}
    charts = []
    for metric, label in METRICS:
        series = {g: [0] * len(periods) for g in groups}
        for r in rows:
            if r["period"] in index:
                series[r["group"]][index[r["period"]]] = r[metric]
        charts.append(
            {
                "id": metric,
                "label": label,
                "datasets": [{"label": g, "data": series[g]} for g in groups],
            }
        )
    return {"labels": [p.isoformat() for p in periods], "charts": charts}


def table_bodies(rows) -> dict[str, str]:
    """Each metric's table body, formatted in Python: a year per week by account
    is hundreds of rows times three tables, too many for per-cell template nodes
    (or a `format_html` per row). Only the group name is text to escape: periods
    are dates and the numbers are integers."""
    names: dict[str, str] = {}
    cells = []
    for r in rows:
        group = names.get(r["group"])
        if group is None:
            group = names[r["group"]] = escape(r["group"])
        cells.append((r["period"].isoformat(), group, r))
    return {
        metric: mark_safe(  # escaped above; the rest are dates and ints
            "".join(
                f'<tr><td class="text-nowrap">{period}</td><td>{group}</td>'
                f'<td class="text-end">{int(r[metric])}</td></tr>'
                for period, group, r in cells
            )
        )
        for metric, _ in METRICS
    }


@role_required(Role.MANAGER)
@cached_page()
def usage(request):
    form, since, until, period, by = _choices(request)
    periods, rows = usage_table(request, since, until, period, by)
    params = request.GET.copy()
    query = "?" + params.urlencode() if params else ""
    bodies = table_bodies(rows)
    return render_page(
        request,
        "core/control/usage.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "period": period,
            "by": by,
            "rows": rows,
            "chart": {**chart_data(periods, rows), "type": period},
            "metrics": [(metric, label, bodies[metric]) for metric, label in METRICS],
            "csv_query": query,
        },
    )


@role_required(Role.MANAGER)
def usage_csv(request):
    _, since, until, period, by = _choices(request)
    _, rows = usage_table(request, since, until, period, by)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="usage-{request.workspace.slug}-{since}-{until}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow([period, by, "activities", "minutes", "agents"])
    for r in rows:
        group = r["group"]
        if group[:1] in ("=", "+", "-", "@"):
            group = "'" + group
        writer.writerow(
            [r["period"].isoformat(), group, r["activities"], r["minutes"], r["agents"]]
        )
    return response
