"""Webhook-versus-poll reconciliation: for a vendor whose webhook events change
rows that a stream also pulls (`VendorSpec.reconciles`), each pull of that
stream tells how many changes it found that no webhook had delivered, and the
account's events that no pull ever matched.

- At intake (`vendorkit.webhooks`) every stored event of such a vendor keeps the
  external id of the row it changes (`WebhookEvent.record_key`, the handler's
  `record_key()`).
- A run of a covered stream runs inside `pulling(ctx)`. `bulk.upsert` asks
  `watcher(model)` once per batch (None, at the cost of one context variable
  read, for every other model, stream and caller, webhook drains included) and
  calls it in the batch's transaction with the batch's rows and its written
  (created or updated) rows. One statement per batch marks the account's
  unmatched events of the batch's keys matched and returns their keys: a key
  pulled with such an event is *matched*; a written key without one is *missed*
  when the vendor expects to send an event for it (`Reconciliation.expects`)
  and its change is from after the account's first event
  (`VendorAccount.webhooks_since`, less `SINCE_SLACK`: before the webhook
  existed there was nothing to miss, e.g. the first backfill).
- At the run's end the run stores `webhook_missed`, `webhook_matched` and
  `webhook_unmatched`: the account's events older than the grace period (the
  covered streams' longest interval plus the look-back window) and younger than
  `WINDOW_DAYS` that no pull matched (one count on a partial index).

A batch counts once its transaction commits (`on_commit`): a batch rolled back
leaves its events unmatched and counts nothing, so the run that stores it later
counts it. A matched event stays matched: a record changed again later needs a
new event, or the pull that finds that change counts it missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.module_loading import import_string

from . import registry

log = logging.getLogger("cobrowse.vendorkit.reconcile")

#: A change this long before the account's first event still counts: the
#: vendor's clock and the first delivery's delay.
SINCE_SLACK = timedelta(minutes=1)
#: Events older than this are no longer counted as "never matched", and the
#: trend shows this many days.
WINDOW_DAYS = 14


@dataclass
class _Pull:
    """One covered run: what its batches found so far."""

    account_id: int
    label: str
    declared: registry.Reconciliation
    since: datetime | None
    expects: Callable[[dict], bool] | None
    #: Keys matched and missed by this run so far (a key pulled twice in one
    #: run counts once).
    keys: set[str] = field(default_factory=set)
    missed_keys: set[str] = field(default_factory=set)

    @property
    def matched(self) -> int:
        return len(self.keys)

    @property
    def missed(self) -> int:
        return len(self.missed_keys)

    def batch(self, account, pulled: dict[str, dict], written: list[dict]) -> None:
        """Match the batch's keys (`pulled`: external id -> row) and count the
        written rows that no event had delivered. Counted when the batch's
        transaction commits: a batch rolled back (its events unmatched again)
        counts nothing."""
        found = match(account.pk, list(pulled))
        missed = set()
        if self.since is not None:
            for row in written:
                key = str(row["external_id"])
                if key in found or key in self.keys:
                    continue
                if self.expects is not None and not self.expects(row):
                    continue
                changed = [row.get(name) for name in self.declared.changed_at]
                changed = [t for t in changed if isinstance(t, datetime)]
                if changed and max(changed) >= self.since:
                    missed.add(key)

        def count() -> None:
            self.keys |= found
            self.missed_keys -= found  # its event came after an earlier page
            self.missed_keys |= missed - self.keys

        from cobrowse_portal.core.models import WebhookEvent

        transaction.on_commit(count, using=router.db_for_write(WebhookEvent))


_current: ContextVar[_Pull | None] = ContextVar("reconcile_pull", default=None)


def watcher(model) -> Callable[[object, dict[str, dict], list[dict]], None] | None:
    """The hook `bulk.upsert` calls for each batch of `model`, or None when no
    covered pull of that model is running here."""
    pull = _current.get()
    if pull is None or model._meta.label_lower != pull.label:
        return None
    return pull.batch


def covered(spec: registry.VendorSpec, stream: str) -> bool:
    declared = spec.reconciles
    return declared is not None and stream in declared.streams


def grace(spec: registry.VendorSpec) -> timedelta:
    """How long an event may wait for a pull to match it: the covered streams'
    longest interval plus the look-back window."""
    declared = spec.reconciles
    every = max(
        (s.every for s in spec.streams if declared and s.name in declared.streams),
        default=0,
    )
    return timedelta(seconds=every + settings.SYNC_LOOKBACK_SECONDS)


@contextmanager
def pulling(ctx) -> Iterator[None]:
    """Around a run's stream function: reconcile it if its stream is covered,
    and store the figures on the run at the end (also of a failed run: its
    committed batches matched their events)."""
    spec = ctx.account.spec
    if not covered(spec, ctx.stream):
        yield
        return
    declared = spec.reconciles
    pull = _Pull(
        account_id=ctx.account.pk,
        label=declared.model.lower(),
        declared=declared,
        since=_since(ctx.account),
        expects=import_string(declared.expects) if declared.expects else None,
    )
    token = _current.set(pull)
    try:
        yield
    finally:
        _current.reset(token)
        try:
            _store(ctx, spec, pull)
        except Exception:  # the figures must never fail the run itself
            log.exception("reconciliation figures of run %s not stored", ctx.run.pk)


def _since(account) -> datetime | None:
    """From when changes count: the account's first event (stored on the
    account once known), less the slack; None while no event ever came."""
    from cobrowse_portal.core.models import VendorAccount, WebhookEvent

    first = account.webhooks_since
    if first is None:
        first = (
            WebhookEvent.objects.filter(account=account)
            .exclude(record_key="")
            .order_by()
            .aggregate(first=Min("received_at"))["first"]
        )
        if first is None:
            return None
        VendorAccount.objects.filter(pk=account.pk, webhooks_since=None).update(
            webhooks_since=first
        )
        account.webhooks_since = first
    return first - SINCE_SLACK


def _store(ctx, spec, pull: _Pull) -> None:
    from cobrowse_portal.core.models import SyncRun

    unmatched = unmatched_events(ctx.account.pk, grace(spec))
    figures = {
        "webhook_missed": pull.missed,
        "webhook_matched": pull.matched,
        "webhook_unmatched": unmatched,
    }
    SyncRun.objects.filter(pk=ctx.run.pk).update(**figures)
    for name, value in figures.items():
        setattr(ctx.run, name, value)


# --- the statements ------------------------------------------------------------
def _sql(connection):
    from cobrowse_portal.core.models import WebhookEvent

    qn = connection.ops.quote_name
    meta = WebhookEvent._meta
    table = qn(meta.db_table)
    col = {
        n: qn(meta.get_field(n).column)
        for n in ("account", "record_key", "matched_at", "received_at")
    }
    # The partial index's own condition (`core_webhook_event_unmatched`).
    waiting = (
        f"{col['account']} = %s AND {col['matched_at']} IS NULL "
        f"AND NOT ({col['record_key']} = '')"
    )
    return table, col, waiting


def match(account_id: int, keys: list[str]) -> set[str]:
    """Mark the account's unmatched events of `keys` matched, in one statement;
    the keys that had one."""
    from cobrowse_portal.core.models import WebhookEvent

    if not keys:
        return set()
    connection = connections[router.db_for_write(WebhookEvent)]
    table, col, waiting = _sql(connection)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        among, params = f"{col['record_key']} = ANY(%s)", [list(keys)]
    else:
        marks = ", ".join(["%s"] * len(keys))
        among, params = f"{col['record_key']} IN ({marks})", keys
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {col['matched_at']} = %s WHERE {waiting} "
            f"AND {among} RETURNING {col['record_key']}",
            [now, account_id, *params],
        )
        return {row[0] for row in cursor.fetchall()}


def unmatched_events(account_id: int, wait: timedelta, now=None) -> int:
    """The account's events received between `WINDOW_DAYS` and `wait` ago that
    no pull matched."""
    from cobrowse_portal.core.models import WebhookEvent

    now = now or timezone.now()
    connection = connections[router.db_for_read(WebhookEvent)]
    table, col, waiting = _sql(connection)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE {waiting} "
            f"AND {col['received_at']} < %s AND {col['received_at']} >= %s",
            [
                account_id,
                adapt(now - wait),
                adapt(now - timedelta(days=WINDOW_DAYS)),
            ],
        )
        return cursor.fetchone()[0]


# --- the figures for the pages --------------------------------------------------
def rate(missed: int | None, matched: int | None) -> float | None:
    """The miss rate in % (None: nothing to judge)."""
    seen = (missed or 0) + (matched or 0)
    return None if missed is None or not seen else round(100 * missed / seen, 1)


def figures(accounts, now: datetime | None = None) -> dict:
    """Per account of `accounts` whose vendor reconciles: the last covered
    pull's figures and the last `WINDOW_DAYS` days per day (UTC), with the
    Chart.js data (`static/js/charts.js`). Only these accounts' runs are read;
    two queries, whatever the number of accounts."""
    from cobrowse_portal.core.models import SyncRun

    now = now or timezone.now()
    accounts = [a for a in accounts if _reconciles(a)]
    if not accounts:
        return {"accounts": [], "chart": {"type": "day", "labels": [], "charts": []}}
    ids = [a.pk for a in accounts]
    covered_runs = SyncRun.objects.filter(
        account_id__in=ids, webhook_missed__isnull=False
    )
    last_ids = (
        covered_runs.filter(account_id=OuterRef("account_id"))
        .order_by("-queued_at", "-id")
        .values("id")[:1]
    )
    last = {
        run.account_id: run
        for run in covered_runs.filter(id__in=Subquery(last_ids)).order_by()
    }
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=n) for n in range(WINDOW_DAYS - 1, -1, -1)]
    start = datetime.combine(days[0], datetime.min.time(), UTC)
    per: dict[int, dict] = {a.pk: {} for a in accounts}
    for row in (
        covered_runs.filter(queued_at__gte=start)
        .annotate(day=TruncDate("queued_at", tzinfo=UTC))
        .values("account_id", "day")
        .annotate(
            missed=Sum("webhook_missed"),
            matched=Sum("webhook_matched"),
            unmatched=Max("webhook_unmatched"),
            runs=Count("id"),
        )
        .order_by()
    ):
        per[row["account_id"]][row["day"]] = row
    out, charts = [], []
    for n, account in enumerate(accounts):
        series = [per[account.pk].get(day) for day in days]
        chart_id = f"recon-{n}"
        charts.append(
            {
                "id": chart_id,
                "datasets": [
                    {
                        "label": "Missed by webhook",
                        "data": [r["missed"] if r else 0 for r in series],
                    },
                    {
                        "label": "Matched",
                        "data": [r["matched"] if r else 0 for r in series],
                    },
                    {
                        "label": "Never matched (events)",
                        "data": [r["unmatched"] if r else 0 for r in series],
                    },
                ],
            }
        )
        run = last.get(account.pk)
        out.append(
            {
                "account": account,
                "last": run,
                "rate": rate(run.webhook_missed, run.webhook_matched) if run else None,
                "chart_id": chart_id,
                "rows": [
                    {
                        **r,
                        "day": f"{day:%Y-%m-%d}",
                        "rate": rate(r["missed"], r["matched"]),
                    }
                    for day, r in zip(days, series, strict=True)
                    if r
                ],
            }
        )
    return {
        "accounts": out,
        "chart": {
            "type": "day",
            "labels": [f"{day:%m-%d}" for day in days],
            "charts": charts,
        },
    }


def _reconciles(account) -> bool:
    try:
        return account.spec.reconciles is not None
    except KeyError:  # a removed vendor app's account
        return False
