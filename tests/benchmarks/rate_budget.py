"""What counting the rate budget costs one vendor call
(`.venv/bin/python -m tests.benchmarks.rate_budget`).

Per cache backend (locmem; Redis from BENCH_REDIS_URL, default DB 3, flushed):
the time of one `ratelimit.record` (the counter every call pays), of one
`TokenBucket.try_acquire` (what a call to a rate-limited vendor already paid),
and of a whole client call (faked with `responses`) with and without the
counting, in one run so the ratio holds on a noisy machine. Prints figures,
asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import responses  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.test import override_settings  # noqa: E402

from cobrowse_portal.vendorkit import client as client_module  # noqa: E402
from cobrowse_portal.vendorkit import http as http_module  # noqa: E402
from cobrowse_portal.vendorkit import ratelimit  # noqa: E402
from vendors.surfly.client import SurflyClient  # noqa: E402

N = int(os.environ.get("RATE_BENCH_N", "3000"))
URL = "https://surfly.test/v2"


def per_call(fn, n: int = N, rounds: int = 5) -> float:
    """Median over `rounds` of the mean µs per call."""
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        results.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(results)


def client_call_us(counting: bool) -> float:
    saved = client_module.record, http_module.record
    if not counting:
        client_module.record = http_module.record = lambda *a, **k: None
    try:
        with responses.RequestsMock() as mock:
            mock.add(responses.GET, f"{URL}/agents/", json=[])
            client = SurflyClient(URL, {"api_key": "k-123456"})
            client.limiter = None  # the call itself, not the bucket
            return per_call(lambda: client.get_json("agents/"), n=max(N // 10, 100))
    finally:
        client_module.record, http_module.record = saved


def run(label: str, cache_config: dict) -> None:
    with override_settings(CACHES={"default": cache_config}):
        caches["default"].clear()
        record = per_call(lambda: ratelimit.record("bench:host", "requests"))
        bucket = ratelimit.TokenBucket("bench:host", ratelimit.Rate(10**9, 1))
        acquire = per_call(bucket.try_acquire)
        with_count = client_call_us(True)
        without = client_call_us(False)
        caches["default"].clear()
    print(  # noqa: T201
        f"{label:8} record {record:7.1f} µs | bucket try_acquire {acquire:7.1f} µs "
        f"| client call {without:7.1f} µs without counting, {with_count:7.1f} µs "
        f"with ({with_count / without:.3f}×)"
    )


def main() -> None:
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; n={N}")  # noqa: T201
    run("locmem", {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    if redis_url != "off":
        run(
            "redis",
            {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            },
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
