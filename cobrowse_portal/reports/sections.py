"""The sections a report can hold: a small registry, name -> function building
tables from the local database (the activity index, the usage rollups, the sync
runs). Another app adds one with `register()` in its AppConfig.ready(), e.g. the
alerts app's "open alerts", without changing this module.

A builder takes a `Scope` and returns a list of tables, each a dict with
`title`, `columns` and `rows` (lists of plain values, JSON-serialisable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.core.models import Activity, SyncRun, UsageDay

from .periods import Period


@dataclass(frozen=True)
class Scope:
    workspaces: list  # the report's workspace, plus its clients when it covers them
    period: Period

    @property
    def workspace_ids(self) -> list[int]:
        return [w.pk for w in self.workspaces]


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    build: Callable[[Scope], list[dict]]
    order: int


_SECTIONS: dict[str, Section] = {}


def register(key: str, label: str, build: Callable[[Scope], list[dict]], order=100):
    """Add (or replace) a section; `key` is what definitions store."""
    _SECTIONS[key] = Section(key, label, build, order)


def all_sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))


def get(key: str) -> Section | None:
    return _SECTIONS.get(key)


def choices() -> list[tuple[str, str]]:
    return [(s.key, s.label) for s in all_sections()]


def unknown_sections(keys) -> list[str]:
    return [str(k) for k in keys if k not in _SECTIONS]


def minutes(seconds) -> int:
    return round((seconds or 0) / 60)


def _change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "–"
    return f"{(now - before) * 100 / before:+.0f}%"


def _in_period(scope: Scope):
    return Activity.objects.filter(
        workspace_id__in=scope.workspace_ids,
        removed_at__isnull=True,
        started_at__gte=scope.period.start,
        started_at__lt=scope.period.end,
    )


# --- the built-in sections --------------------------------------------------------
def activity_by_account(scope: Scope) -> list[dict]:
    rows = (
        _in_period(scope)
        .values("workspace__name", "vendor", "account__name")
        .annotate(n=Count("id"), seconds=Sum("duration"))
        .order_by("workspace__name", "vendor", "account__name")
    )
    return [
        {
            "title": "Activity per vendor and account",
            "columns": ["Workspace", "Vendor", "Account", "Activities", "Minutes"],
            "rows": [
                [
                    r["workspace__name"],
                    r["vendor"],
                    r["account__name"],
                    r["n"],
                    minutes(r["seconds"]),
                ]
                for r in rows
            ],
        }
    ]


def agent_activity(scope: Scope) -> list[dict]:
    rows = (
        _in_period(scope)
        .values("workspace__name", "agent_id", "agent__name", "agent__email")
        .annotate(
            n=Count("id"),
            seconds=Sum("duration"),
            vendors=Count("vendor", distinct=True),
        )
        .order_by("-n", "agent__name", "agent_id")
    )
    out = []
    for r in rows:
        if r["agent_id"] is None:
            name = "(no agent matched)"
        else:
            name = r["agent__name"] or r["agent__email"]
        out.append(
            [r["workspace__name"], name, r["n"], minutes(r["seconds"]), r["vendors"]]
        )
    return [
        {
            "title": "Agent activity",
            "columns": ["Workspace", "Agent", "Activities", "Minutes", "Vendors"],
            "rows": out,
        }
    ]


def usage_vs_previous(scope: Scope) -> list[dict]:
    p = scope.period
    base = UsageDay.objects.filter(workspace_id__in=scope.workspace_ids)
    fields = ("workspace__name", "vendor", "account__name")

    def totals(first, end):
        return {
            tuple(r[f] for f in fields): r
            for r in base.filter(day__gte=first, day__lt=end)
            .values(*fields)
            .annotate(a=Sum("activities"), s=Sum("seconds"))
            .order_by()
        }

    now, before = totals(p.first_day, p.end_day), totals(p.prev_first_day, p.first_day)
    rows = []
    for key in sorted(set(now) | set(before)):
        a = (now.get(key) or {}).get("a") or 0
        s = (now.get(key) or {}).get("s") or 0
        pa = (before.get(key) or {}).get("a") or 0
        ps = (before.get(key) or {}).get("s") or 0
        rows.append([*key, a, pa, _change(a, pa), minutes(s), minutes(ps)])
    return [
        {
            "title": "Usage against the previous period",
            "columns": [
                "Workspace",
                "Vendor",
                "Account",
                "Activities",
                "Previous",
                "Change",
                "Minutes",
                "Previous minutes",
            ],
            "rows": rows,
        }
    ]


FAILED_RUNS_SHOWN = 50


def sync_health(scope: Scope) -> list[dict]:
    runs = SyncRun.objects.filter(
        account__workspace_id__in=scope.workspace_ids,
        queued_at__gte=scope.period.start,
        queued_at__lt=scope.period.end,
    )
    per_account = (
        runs.values("account__workspace__name", "account__vendor", "account__name")
        .annotate(
            n=Count("id"),
            ok=Count("id", filter=Q(status=RunStatus.SUCCEEDED)),
            failed=Count("id", filter=Q(status=RunStatus.FAILED)),
        )
        .order_by("account__workspace__name", "account__vendor", "account__name")
    )
    zone = scope.period.zone
    failed = runs.filter(status=RunStatus.FAILED).select_related(
        "account", "account__workspace"
    )[:FAILED_RUNS_SHOWN]
    return [
        {
            "title": "Sync health",
            "columns": [
                "Workspace",
                "Vendor",
                "Account",
                "Runs",
                "Succeeded",
                "Failed",
            ],
            "rows": [
                [
                    r["account__workspace__name"],
                    r["account__vendor"],
                    r["account__name"],
                    r["n"],
                    r["ok"],
                    r["failed"],
                ]
                for r in per_account
            ],
        },
        {
            "title": "Failed runs",
            "columns": ["When", "Workspace", "Account", "Stream", "Error"],
            "rows": [
                [
                    run.queued_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    run.account.workspace.name,
                    str(run.account),
                    run.stream,
                    (run.error or "")[:300],
                ]
                for run in failed
            ],
        },
    ]


register("activity", "Activity per vendor and account", activity_by_account, 10)
register("agents", "Agent activity", agent_activity, 20)
register("usage", "Usage against the previous period", usage_vs_previous, 30)
register("sync_health", "Sync health with failed runs", sync_health, 40)
