"""The rules: each a function over the local database (never a vendor call)
that yields the conditions it finds in one workspace. A condition's `key` is
stable ("account:12", "stream:12:history"), so the next evaluation finds the
same open alert again; a key no longer yielded resolves its alert.

Rules are registered with `@rule(name, label)`; `engine.evaluate` runs them all.
A vendor contributes checks of its own through `VendorSpec.alert_checks` (the
`vendor` rule calls them), so this module never names a vendor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Max, Q
from django.utils.module_loading import import_string

from cobrowse_portal.core.choices import AccountStatus, RunStatus
from cobrowse_portal.core.models import SyncRun, VendorAccount, Workspace
from cobrowse_portal.vendorkit import registry

from .models import AlertSettings


@dataclass(frozen=True)
class Condition:
    """One thing a rule found: `key` is stable across evaluations."""

    key: str
    subject: str
    message: str
    account_id: int | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    func: Callable[[Workspace, AlertSettings, datetime], Iterable[Condition]]


RULES: dict[str, Rule] = {}


def rule(name: str, label: str):
    def decorator(func):
        RULES[name] = Rule(name, label, func)
        return func

    return decorator


def _accounts(workspace: Workspace) -> list[VendorAccount]:
    return list(
        VendorAccount.objects.filter(workspace=workspace, enabled=True).order_by("pk")
    )


def _known(accounts):
    """The accounts whose vendor is registered (a removed vendor app's rows stay)."""
    slugs = {spec.slug for spec in registry.all_vendors()}
    return [a for a in accounts if a.vendor in slugs]


@rule("account_rejected", "Account needs attention")
def account_rejected(workspace, config, now):
    """Credentials rejected: the account's runs are paused until they change."""
    for account in _accounts(workspace):
        if account.status == AccountStatus.NEEDS_ATTENTION:
            yield Condition(
                key=f"account:{account.pk}",
                subject=str(account),
                message="The vendor rejected the credentials: "
                f"{account.status_message or 'no reason given'}. Syncs are paused "
                "until an admin enters working credentials.",
                account_id=account.pk,
            )


@rule("failed_runs", "Failed runs in a row")
def failed_runs(workspace, config, now):
    """The last N finished runs (succeeded or failed; skipped ones do not count)
    of one stream all failed. One indexed query per stream of an account."""
    n = config.failed_runs
    for account in _known(_accounts(workspace)):
        if account.status == AccountStatus.NEEDS_ATTENTION:
            continue  # the account_rejected alert says it; runs are paused anyway
        for stream in account.spec.streams:
            last = list(
                SyncRun.objects.filter(
                    account=account,
                    stream=stream.name,
                    status__in=(RunStatus.SUCCEEDED, RunStatus.FAILED),
                )
                .order_by("-queued_at", "-id")
                .values_list("status", "error")[:n]
            )
            if len(last) == n and all(s == RunStatus.FAILED for s, _e in last):
                yield Condition(
                    key=f"stream:{account.pk}:{stream.name}",
                    subject=f"{account} · {stream.label}",
                    message=f"The last {n} runs of {stream.label} failed; the "
                    f"latest said: {last[0][1][:300] or 'no error text'}",
                    account_id=account.pk,
                )


def _history_interval(spec) -> int | None:
    """The longest interval of the vendor's history streams (all streams when it
    has none), in seconds."""
    streams = [s for s in spec.streams if s.kind == "history"] or list(spec.streams)
    return max((s.every for s in streams), default=None)


@rule("no_new_data", "No new data")
def no_new_data(workspace, config, now):
    """An account brought nothing new for longer than expected: the newer of its
    newest activity's `updated_at` and the end of its last run that created or
    updated rows is older than K × the longest interval of its history streams.
    An account that never brought any data is not judged (nothing to compare
    with); a paused (needs attention) or disabled one is left to the other rule."""
    accounts = [
        a
        for a in _known(_accounts(workspace))
        if a.status != AccountStatus.NEEDS_ATTENTION
    ]
    if not accounts:
        return
    ids = [a.pk for a in accounts]
    # When the index last changed, per account (a column the index writes keep,
    # to the minute): no scan of the activities, which this rule would otherwise
    # read in full after every run and every minute.
    activity = {a.pk: a.data_changed_at for a in accounts}
    productive = dict(
        SyncRun.objects.filter(account_id__in=ids, status=RunStatus.SUCCEEDED)
        .filter(Q(created__gt=0) | Q(updated__gt=0))
        .values("account_id")
        .annotate(newest=Max(F("finished_at")))
        .values_list("account_id", "newest")
    )
    for account in accounts:
        every = _history_interval(account.spec)
        seen = [t for t in (activity.get(account.pk), productive.get(account.pk)) if t]
        if not every or not seen:
            continue
        newest = max(seen)
        limit = timedelta(seconds=every * config.stale_factor)
        if now - newest > limit:
            yield Condition(
                key=f"stale:{account.pk}",
                subject=str(account),
                message=f"No new data since {newest:%Y-%m-%d %H:%M} UTC (expected "
                f"within {_duration(limit)}: {config.stale_factor} × the history "
                "interval).",
                account_id=account.pk,
            )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


@rule("vendor", "Vendor reports a problem")
def vendor_checks(workspace, config, now):
    """Each vendor's own checks (`VendorSpec.alert_checks`: the dotted path of
    `f(accounts) -> iterable of {"key", "subject", "message", "account_id"}`),
    called once with all the workspace's enabled accounts of that vendor (e.g. a
    webhook the vendor switched off after failed deliveries)."""
    by_vendor: dict[str, list[VendorAccount]] = {}
    for account in _known(_accounts(workspace)):
        by_vendor.setdefault(account.vendor, []).append(account)
    for vendor, accounts in sorted(by_vendor.items()):
        spec = registry.get(vendor)
        if not spec.alert_checks:
            continue
        for found in import_string(spec.alert_checks)(accounts):
            yield Condition(
                key=f"{vendor}:{found['key']}",
                subject=found["subject"],
                message=found["message"],
                account_id=found.get("account_id"),
            )


@rule("provisioning_failed", "Provisioning step failed")
def provisioning_failed(workspace, config, now):
    """A step of one of the workspace's provisioning runs failed (a retry that
    succeeds, or abandoning the run, clears it)."""
    from cobrowse_portal.provisioning.models import ProvisioningStep, StepStatus

    steps = (
        ProvisioningStep.objects.filter(
            run__workspace=workspace, status=StepStatus.FAILED
        )
        .select_related("run")
        .order_by("pk")
    )
    for step in steps:
        run = step.run
        yield Condition(
            key=f"step:{step.pk}",
            subject=f"{run.get_kind_display()}: {run.subject} · {step.vendor}",
            message=f"The {step.vendor} step failed: "
            f"{(step.message or 'no reason given')[:300]}",
            account_id=step.account_id,
        )


@rule("rate_budget", "Rate budget exhausted")
def rate_budget(workspace, config, now):
    """For an account's vendor host, calls waited for the shared budget or were
    refused in each of the last M finished minutes (M: `rate_budget_minutes`);
    a finished minute without waits or refusals clears it. Reads the minutes the
    sweep flushed (`vendorkit.ratebudget`): one query for all the hosts."""
    from cobrowse_portal.vendorkit.models import RateBudgetMinute
    from cobrowse_portal.vendorkit.ratebudget import (
        bucket_key,
        host_label,
        last_finished_minute,
        minute_start,
    )

    m = config.rate_budget_minutes
    by_key: dict[str, VendorAccount] = {}
    for account in _accounts(workspace):
        by_key.setdefault(bucket_key(account), account)
    if not by_key:
        return
    last = last_finished_minute(now)
    exhausted = dict(
        RateBudgetMinute.objects.filter(
            host__in=list(by_key),
            minute__gte=minute_start(last - m + 1),
            minute__lte=minute_start(last),
        )
        .filter(Q(waited__gt=0) | Q(refused__gt=0))
        .values("host")
        .annotate(n=Count("id"))
        .values_list("host", "n")
    )
    for key, account in sorted(by_key.items()):
        if exhausted.get(key, 0) >= m:
            yield Condition(
                key=f"rate:{key}",
                subject=f"{account.vendor} · {host_label(key)}",
                message=f"Calls to {host_label(key)} waited for the shared request "
                f"budget, or were refused, in each of the last {m} minutes: syncs "
                "and actions run slower than usual. It clears after a minute "
                "without waits.",
                account_id=account.pk,
            )


@rule("webhook_misses", "Webhooks missing changes")
def webhook_misses(workspace, config, now):
    """For an account whose vendor's webhooks cover a pulled stream
    (`VendorSpec.reconciles`): of the records its last N covered pulls found
    changed or confirmed (`SyncRun.webhook_missed` + `webhook_matched`), more
    than P % came without a webhook (N: `webhook_miss_runs`, P:
    `webhook_miss_percent`; pulls that found none are left out), judged once
    those pulls saw at least
    `webhook_miss_min_sample` records. Later pulls with fewer misses clear it.
    One indexed query per covered account."""
    n, limit = config.webhook_miss_runs, config.webhook_miss_percent
    for account in _known(_accounts(workspace)):
        if account.spec.reconciles is None:
            continue
        # Pulls that found nothing (most live pulls) say nothing either way.
        last = list(
            SyncRun.objects.filter(account=account, webhook_missed__isnull=False)
            .exclude(webhook_missed=0, webhook_matched=0)
            .order_by("-queued_at", "-id")
            .values_list("webhook_missed", "webhook_matched")[:n]
        )
        missed = sum(m for m, _ in last)
        seen = missed + sum(m or 0 for _, m in last)
        if seen < config.webhook_miss_min_sample or 100 * missed <= limit * seen:
            continue
        yield Condition(
            key=f"webhooks:{account.pk}",
            subject=str(account),
            message=f"The last {len(last)} pulls found {missed} of {seen} changed "
            f"records ({100 * missed / seen:.0f} %) that no webhook had delivered "
            f"(threshold {limit} %). Check that the webhook is registered and "
            "enabled at the vendor and that the portal's receiver is reachable.",
            account_id=account.pk,
        )
