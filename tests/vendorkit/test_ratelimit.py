"""The shared token bucket: rates, windows, sharing between workers, waiting."""

from __future__ import annotations

import threading
from collections import deque

import pytest
from django.test import override_settings

from cobrowse_portal.vendorkit import ratelimit
from cobrowse_portal.vendorkit.errors import RateLimited
from cobrowse_portal.vendorkit.ratelimit import Rate, TokenBucket
from vendors.surfly.client import SurflyClient


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("100/m", Rate(100, 60.0)),
        ("100/min", Rate(100, 60.0)),
        (" 5/s ", Rate(5, 1.0)),
        ("7", Rate(7, 1.0)),
        ("3600/h", Rate(3600, 3600.0)),
        ("10/hour", Rate(10, 3600.0)),
        ("2/M", Rate(2, 60.0)),
    ],
)
def test_rate_parse(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", [None, "", "off", "OFF", "none", "0", "false"])
def test_rate_parse_off(text):
    assert Rate.parse(text) is None


@pytest.mark.parametrize("text", ["abc/m", "10/fortnight", "-5/m", "1.5/s", "/m"])
def test_rate_parse_rejects_garbage(text):
    with pytest.raises(ValueError, match="bad rate"):
        Rate.parse(text)


def successes(bucket, start: float, seconds: float, step: float) -> list[float]:
    """Try every `step` seconds of simulated time; return when a token was taken."""
    taken, t = [], start
    while t < start + seconds:
        if bucket.try_acquire(now=t) == 0.0:
            taken.append(t)
        t = round(t + step, 6)
    return taken


def peak_in_window(taken: list[float], period: float) -> int:
    window, peak = deque(), 0
    for t in taken:
        window.append(t)
        while window[0] <= t - period:
            window.popleft()
        peak = max(peak, len(window))
    return peak


def test_bucket_allows_count_per_period_and_no_more_in_any_window():
    rate = Rate(100, 60)
    bucket = TokenBucket("test:window", rate)
    taken = successes(bucket, 1000.0, 300, 0.05)
    # Never more than 100 in any 60 s window ...
    assert peak_in_window(taken, rate.period) <= rate.count
    # ... but close to it (the budget is used, not wasted).
    first_minute = [t for t in taken if t < 1060.0]
    assert len(first_minute) >= rate.count - 2
    # Sustained: the burst, then (count - burst) per period, so that no window
    # ever sees more than `count`.
    assert len(taken) >= bucket.burst + (rate.count - bucket.burst) * 5 - 2


def test_the_window_check_catches_a_full_size_burst():
    """A bucket that starts full *and* refills at the full rate lets almost two
    periods' worth through in one window: the check above would fail."""
    rate = Rate(100, 60)
    greedy = TokenBucket("test:greedy", rate, burst=100)
    taken = successes(greedy, 1000.0, 120, 0.05)
    assert peak_in_window(taken, rate.period) > rate.count


def test_burst_then_wait():
    bucket = TokenBucket("test:burst", Rate(100, 60))
    assert [bucket.try_acquire(now=0.0) for _ in range(10)] == [0.0] * 10
    wait = bucket.try_acquire(now=0.0)
    assert wait == pytest.approx(60 / 90, rel=0.01)  # the 90 others refill evenly
    assert bucket.try_acquire(now=wait) == 0.0


def test_two_workers_share_one_budget():
    """Two instances with the same key (two workers) draw from one bucket."""
    a = TokenBucket("surfly:surfly.com", Rate(20, 60))
    b = TokenBucket("surfly:surfly.com", Rate(20, 60))
    other = TokenBucket("surfly:onprem.example", Rate(20, 60))
    assert a.try_acquire(now=0.0) == 0.0  # burst of 2
    assert b.try_acquire(now=0.0) == 0.0
    assert a.try_acquire(now=0.0) > 0
    assert b.try_acquire(now=0.0) > 0
    assert other.try_acquire(now=0.0) == 0.0  # another host: its own budget


def test_concurrent_workers_never_overdraw():
    buckets = [TokenBucket("test:threads", Rate(100, 60)) for _ in range(4)]
    wins = []
    barrier = threading.Barrier(len(buckets))

    def worker(bucket):
        barrier.wait()
        for _ in range(25):
            if bucket.try_acquire(now=5000.0) == 0.0:
                wins.append(1)

    threads = [threading.Thread(target=worker, args=(b,)) for b in buckets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == buckets[0].burst == 10


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


def test_acquire_waits_for_a_token(clock):
    bucket = TokenBucket("test:acquire", Rate(10, 10))  # burst 1, 0.9 tokens/s
    bucket.acquire()
    bucket.acquire(max_wait=5)
    assert clock.slept == [pytest.approx(1 / 0.9)]


def test_acquire_raises_past_max_wait(clock):
    bucket = TokenBucket("test:maxwait", Rate(10, 60))  # burst 1, slow refill
    bucket.acquire()
    with pytest.raises(RateLimited) as info:
        bucket.acquire(max_wait=1.0)
    assert info.value.retry_after == pytest.approx(60 / 9, abs=0.1)
    assert clock.slept == []  # it did not sleep first and fail later


def test_surfly_client_uses_a_shared_100_per_minute_budget():
    with override_settings(VENDOR_RATE_LIMITS={}):
        client = SurflyClient("https://surfly.com/v2", {"api_key": "k-123456"})
        assert client.limiter.rate == Rate(100, 60)
        assert client.limiter.key == "tokenbucket:surfly:surfly.com"
    with override_settings(VENDOR_RATE_LIMITS={"surfly": "off"}):
        assert SurflyClient("https://surfly.com/v2", {"api_key": "k"}).limiter is None
    with override_settings(VENDOR_RATE_LIMITS={"surfly": "5/s"}):
        client = SurflyClient("https://surfly.com/v2", {"api_key": "k"})
        assert client.limiter.rate == Rate(5, 1)
