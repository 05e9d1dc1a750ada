"""The rate budget over time: finished minutes' cache counters
(`ratelimit.record`) flushed to `RateBudgetMinute` by the minute sweep, old rows
pruned, and the last 24 hours per host for the account and sync-run pages.

Flushing writes each minute's counters as they stand (an upsert on (host,
minute) that sets the values, never adds to them), so two sweeps flushing the
same minute, one after the other or at once, store the same row once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from . import registry
from .models import RateBudgetMinute
from .ratelimit import COUNTER_TTL, FIELDS, Rate, counter_key

#: A minute is flushed this many seconds after it ended: a call that started just
#: before the minute's end, on a worker whose clock is a little behind, still counts.
GRACE_SECONDS = 5
#: How far back a sweep looks when it does not know what was flushed last.
LOOKBACK_MINUTES = 120
KEEP_DAYS = 14
#: The cache key of the last minute flushed (so a sweep reads only new minutes).
FLUSHED_KEY = "ratebudget:flushed-until"


def bucket_key(account) -> str:
    """An account's budget key, as its client counts it ("vendor:host")."""
    return f"{account.vendor}:{urlsplit(account.base_url).netloc}"


def host_label(key: str) -> str:
    return key.partition(":")[2] or key


def minute_of(ts: float) -> int:
    return int(ts // 60)


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def last_finished_minute(now: datetime) -> int:
    """The newest minute the sweep flushes at `now` (ended GRACE_SECONDS ago)."""
    return minute_of(now.timestamp() - GRACE_SECONDS) - 1


def known_keys() -> list[str]:
    """Every account's budget key (a few distinct hosts, one query)."""
    from cobrowse_portal.core.models import VendorAccount

    pairs = VendorAccount.objects.values_list("vendor", "base_url").distinct()
    return sorted({f"{v}:{urlsplit(u).netloc}" for v, u in pairs})


def flush(now: datetime | None = None, keys: list[str] | None = None) -> int:
    """Store the finished minutes not flushed yet; return the rows written."""
    now = now or timezone.now()
    last = last_finished_minute(now)
    done = cache.get(FLUSHED_KEY)
    first = last - LOOKBACK_MINUTES + 1
    if isinstance(done, int):
        first = max(first, done + 1)
    if first > last:
        return 0
    keys = known_keys() if keys is None else keys
    names = {
        counter_key(k, m, f): (k, m, f)
        for k in keys
        for m in range(first, last + 1)
        for f in FIELDS
    }
    found = cache.get_many(list(names)) if names else {}
    rows: dict[tuple[str, int], dict[str, int]] = {}
    for name, value in found.items():
        key, minute, field = names[name]
        rows.setdefault((key, minute), dict.fromkeys(FIELDS, 0))[field] = int(value)
    if rows:
        RateBudgetMinute.objects.bulk_create(
            [
                RateBudgetMinute(host=key, minute=minute_start(minute), **counts)
                for (key, minute), counts in sorted(rows.items())
            ],
            update_conflicts=True,
            unique_fields=["host", "minute"],
            update_fields=list(FIELDS),
        )
    cache.set(FLUSHED_KEY, last, timeout=COUNTER_TTL)
    return len(rows)


def prune(now: datetime | None = None) -> int:
    """Delete the rows older than KEEP_DAYS."""
    now = now or timezone.now()
    deleted, _ = RateBudgetMinute.objects.filter(
        minute__lt=now - timedelta(days=KEEP_DAYS)
    ).delete()
    return deleted


def sweep(now: datetime) -> str:
    written = flush(now)
    pruned = prune(now)
    return f"rate budget: {written} host-minutes flushed, {pruned} old pruned"


def rate_for(vendor: str) -> Rate | None:
    """The vendor's shared budget as its clients apply it (None: no bucket)."""
    try:
        client_class = registry.get(vendor).client_cls
    except Exception:  # noqa: BLE001 - a removed vendor app: no known budget
        return None
    configured = settings.VENDOR_RATE_LIMITS.get(vendor, client_class.rate_limit)
    try:
        return Rate.parse(configured)
    except ValueError:
        return None


def last_day(accounts, now: datetime | None = None, hours: int = 24) -> dict:
    """The budget of `accounts`' hosts over the last `hours` hours, per hour:
    {"hosts": [{"key", "host", "vendor", "budget", "rows", "chart_id",
    "totals"}], "chart": the Chart.js data}. Only these accounts' hosts are
    read, so a workspace never sees another's. One query."""
    now = now or timezone.now()
    end = minute_start(last_finished_minute(now) + 1)
    end_hour = end.replace(minute=0, second=0, microsecond=0)
    if end_hour < end:
        end_hour += timedelta(hours=1)
    start = end_hour - timedelta(hours=hours)
    slots = [start + timedelta(hours=i) for i in range(hours)]
    vendors: dict[str, str] = {}
    for account in accounts:
        vendors.setdefault(bucket_key(account), account.vendor)
    keys = sorted(vendors)
    per: dict[str, dict[datetime, dict[str, int]]] = {k: {} for k in keys}
    stored = RateBudgetMinute.objects.filter(
        host__in=keys, minute__gte=start, minute__lt=end_hour
    ).values_list("host", "minute", *FIELDS)
    for host, minute, *values in stored:
        slot = minute.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        counts = per[host].setdefault(slot, dict.fromkeys(FIELDS, 0))
        for field, value in zip(FIELDS, values, strict=True):
            counts[field] += value
    labels = [f"{slot:%H:%M}" for slot in slots]
    hosts, charts = [], []
    for n, key in enumerate(keys):
        rate = rate_for(vendors[key])
        budget = round(rate.count * 3600 / rate.period) if rate else None
        series = [per[key].get(slot, dict.fromkeys(FIELDS, 0)) for slot in slots]
        rows = [
            {
                "hour": slot,
                # Formatted here: a template's |date would show the viewer's zone.
                "hour_label": f"{slot:%Y-%m-%d %H:%M}",
                "budget": budget,
                **counts,
                "wait_seconds": round(counts["wait_ms"] / 1000, 1),
            }
            for slot, counts in zip(slots, series, strict=True)
            if any(counts.values())
        ]
        datasets = [{"label": "Requests", "data": [c["requests"] for c in series]}]
        if budget is not None:
            datasets.append({"label": "Budget", "data": [budget] * len(slots)})
        datasets += [
            {"label": "Waits", "data": [c["waited"] for c in series]},
            {"label": "429s", "data": [c["throttled"] for c in series]},
            {"label": "Refused", "data": [c["refused"] for c in series]},
        ]
        chart_id = f"rate-{n}"
        charts.append({"id": chart_id, "datasets": datasets})
        hosts.append(
            {
                "key": key,
                "host": host_label(key),
                "vendor": vendors[key],
                "budget": budget,
                "rate": rate,
                "rows": rows,
                "chart_id": chart_id,
                "totals": {f: sum(c[f] for c in series) for f in FIELDS},
            }
        )
    return {
        "hosts": hosts,
        "chart": {"type": "hour", "labels": labels, "charts": charts},
        "start": start,
        "end": end_hour,
    }
