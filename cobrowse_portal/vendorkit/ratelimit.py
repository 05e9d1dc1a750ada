"""A token bucket on the Django cache, so every worker of every process shares one
budget (Surfly allows 100 requests per minute per IP address).

State lives under one cache key and is changed under a short cache lock taken with
`cache.add`, which is atomic on Redis, the database cache and locmem alike.

What the budget sees is counted too (`record`), per bucket key (vendor and host)
and minute, in the same cache with `incr`: requests sent, calls that had to wait
for a token (and the milliseconds waited), 429s from the vendor, calls refused
because the budget stayed empty. `vendorkit.ratebudget` flushes finished minutes
to `RateBudgetMinute` from the minute sweep, so no vendor call writes a row.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from .errors import RateLimited

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    """`count` requests per `period` seconds."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str | None) -> Rate | None:
        """'100/m' -> Rate(100, 60); None, '', 'off' or '0' -> no limit."""
        if not text or text.strip().lower() in {"off", "none", "0", "false"}:
            return None
        count, _, unit = text.strip().partition("/")
        period = PERIODS.get(unit.strip().lower() or "s")
        if period is None or not count.strip().isdigit():
            raise ValueError(f"bad rate {text!r}; expected e.g. '100/m'")
        return cls(int(count), float(period))


#: The counters kept per bucket key and minute (the columns of RateBudgetMinute).
FIELDS = ("requests", "waited", "wait_ms", "throttled", "refused")
#: Counters outlive their minute long enough for a late sweep to flush them.
COUNTER_TTL = 3 * 3600


def counter_key(bucket_key: str, minute: int, field: str) -> str:
    """The cache key of one counter; `minute` is Unix seconds // 60."""
    return f"ratebudget:{bucket_key}:{minute}:{field}"


def record(
    bucket_key: str,
    field: str,
    amount: int = 1,
    *,
    now: float | None = None,
    cache_alias: str = "default",
) -> None:
    """Add `amount` to this minute's `field` counter of `bucket_key`.

    One `incr` in the common case (the key exists); the minute's first event
    adds the key instead (`add` is atomic, so two workers never both create it).
    Counting must never fail a vendor call, so a cache error is swallowed."""
    if amount <= 0:
        return
    cache = caches[cache_alias]
    minute = int((time.time() if now is None else now) // 60)
    key = counter_key(bucket_key, minute, field)
    try:
        if isinstance(cache, RedisCache):
            _redis_incr(cache, key, amount)
            return
        try:
            cache.incr(key, amount)
        except ValueError:  # the minute's first event (or the key was evicted)
            if not cache.add(key, amount, timeout=COUNTER_TTL):
                cache.incr(key, amount)
    except Exception:  # noqa: BLE001 - the budget's figures are best effort
        pass


def _redis_incr(cache: RedisCache, key: str, amount: int) -> None:
    """INCRBY and EXPIRE in one round trip. Django's `incr` on Redis is EXISTS
    then INCRBY (two), and a missing key costs an `add` besides; INCRBY creates
    the key itself, atomically. Django stores ints raw, so `get_many` reads it."""
    name = cache.make_and_validate_key(key)
    pipe = cache._cache.get_client(name, write=True).pipeline(transaction=False)
    pipe.incrby(name, amount)
    pipe.expire(name, COUNTER_TTL)
    pipe.execute()


class TokenBucket:
    """Allows `rate.count` calls in any window of `rate.period` seconds.

    A burst of `burst` calls is allowed at once; the rest refill evenly at
    (count - burst) / period, so no sliding window ever sees more than `count`.
    """

    def __init__(
        self, key: str, rate: Rate, *, burst: int | None = None, cache_alias="default"
    ) -> None:
        self.name = key  # the bucket key the counters (`record`) use
        self.key = f"tokenbucket:{key}"
        self.rate = rate
        self.burst = burst if burst is not None else max(1, rate.count // 10)
        self.refill_per_second = (rate.count - self.burst) / rate.period or (
            rate.count / rate.period
        )
        self.cache = caches[cache_alias]

    def _locked(self, fn):
        lock_key, token = f"{self.key}:lock", uuid.uuid4().hex
        deadline = time.monotonic() + 5
        while not self.cache.add(lock_key, token, timeout=5):
            if time.monotonic() > deadline:
                # A holder died mid-update: the lock's own timeout frees it.
                self.cache.delete(lock_key)
            time.sleep(0.005)
        try:
            return fn()
        finally:
            if self.cache.get(lock_key) == token:
                self.cache.delete(lock_key)

    def try_acquire(self, now: float | None = None) -> float:
        """Take a token if one is there; return 0.0, or the seconds to wait."""

        def attempt() -> float:
            t = time.time() if now is None else now
            tokens, stamp = self.cache.get(self.key) or (float(self.burst), t)
            tokens = min(
                float(self.burst), tokens + (t - stamp) * self.refill_per_second
            )
            if tokens >= 1:
                self.cache.set(
                    self.key, (tokens - 1, t), timeout=int(self.rate.period) * 2
                )
                return 0.0
            self.cache.set(self.key, (tokens, t), timeout=int(self.rate.period) * 2)
            return (1 - tokens) / self.refill_per_second

        return self._locked(attempt)

    def acquire(self, max_wait: float = 60.0) -> None:
        """Block until a token is taken; raise RateLimited past `max_wait` seconds.

        A call that had to wait is counted (`waited`, `wait_ms`), and so is one
        refused because the budget stayed empty (`refused`); a call that found a
        token at once costs no counter here."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                if waited:
                    record(self.name, "waited")
                    record(self.name, "wait_ms", round(waited * 1000))
                return
            if waited + wait > max_wait:
                record(self.name, "refused")
                if waited:
                    record(self.name, "waited")
                    record(self.name, "wait_ms", round(waited * 1000))
                raise RateLimited(
                    "shared request budget exhausted", retry_after=round(wait, 1)
                )
            time.sleep(wait)
            waited += wait
