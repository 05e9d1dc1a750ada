"""The rate budget over time: counters recorded per host and minute by the bucket
and the client, flushed by the minute sweep exactly once and pruned after 14
days, drawn on the account and sync-run pages for the workspace's own hosts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import responses
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from cobrowse_portal.core.tasks import sweep
from cobrowse_portal.vendorkit import ratebudget, ratelimit
from cobrowse_portal.vendorkit.errors import RateLimited
from cobrowse_portal.vendorkit.http import build_session
from cobrowse_portal.vendorkit.models import RateBudgetMinute
from cobrowse_portal.vendorkit.ratelimit import Rate, TokenBucket
from tests.core.conftest import OTHER_SECRET, make_account
from vendors.surfly.client import SurflyClient

from .test_ratelimit import FakeClock

URL = "https://surfly.test/v2"
KEY = "surfly:surfly.test"


def counters(key: str, minute: int) -> dict[str, int]:
    names = {ratelimit.counter_key(key, minute, f): f for f in ratelimit.FIELDS}
    return {names[k]: v for k, v in cache.get_many(list(names)).items()}


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    fake.now = 1_800_000_000.0  # a minute's start (divisible by 60)
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


# --- recording ---------------------------------------------------------------------
def test_a_burst_through_a_real_bucket_counts_waits_and_refusals(clock):
    bucket = TokenBucket("test:burst", Rate(3, 3), burst=1)  # 1 at once, then 2/3 s
    minute = int(clock.now // 60)
    bucket.acquire()  # the burst's token: no wait, no counter
    assert counters("test:burst", minute) == {}
    bucket.acquire()  # waits 1.5 s
    bucket.acquire()  # waits 1.5 s
    with pytest.raises(RateLimited):
        bucket.acquire(max_wait=0.5)  # the budget stays empty past max_wait
    assert counters("test:burst", minute) == {
        "waited": 2,
        "wait_ms": 3000,
        "refused": 1,
    }
    assert clock.slept == [pytest.approx(1.5), pytest.approx(1.5)]


def test_counts_go_to_the_minute_they_happen_in(clock):
    ratelimit.record("test:minutes", "requests", 2)
    clock.now += 60
    ratelimit.record("test:minutes", "requests")
    ratelimit.record("test:minutes", "requests")
    minute = int(clock.now // 60)
    assert counters("test:minutes", minute - 1) == {"requests": 2}
    assert counters("test:minutes", minute) == {"requests": 2}


@responses.activate
def test_the_client_counts_requests_sent_and_429s_received():
    responses.add(
        responses.GET, f"{URL}/agents/", status=429, headers={"Retry-After": "0"}
    )
    responses.add(
        responses.GET, f"{URL}/agents/", status=429, headers={"Retry-After": "0"}
    )
    responses.add(responses.GET, f"{URL}/agents/", json=[])
    responses.add(
        responses.POST, f"{URL}/agents/", status=429, json={"message": "slow"}
    )
    session = build_session(backoff_max=0)
    client = SurflyClient(URL, {"api_key": "k-123456"}, session=session)
    minute = ratebudget.minute_of(datetime.now(UTC).timestamp())
    client.get_json("agents/")  # two 429s retried by urllib3, then 200
    with pytest.raises(RateLimited):
        client.request("POST", "agents/", json={})  # not retried: one 429
    got = counters(KEY, minute) or counters(KEY, minute + 1)
    assert got == {"requests": 4, "throttled": 3}
    assert len(responses.calls) == 4


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_sandbox_fault_injection_429s_are_counted(live_server, reseller):
    from cobrowse_portal.vendorkit.sandbox.faults import set_faults
    from tests.conftest import sandbox_account
    from vendors.surfly.sandbox.seed import seed

    seed(size=5, seed=1)
    account = sandbox_account(reseller, live_server.url)
    client = account.spec.client_for(account)
    set_faults("surfly", account.credentials["api_key"], rate_429=1.0)
    client.session = build_session(retries=1, backoff_max=0)
    minute = ratebudget.minute_of(datetime.now(UTC).timestamp())
    with pytest.raises(RateLimited):
        client.check_connection()
    got = counters(client.budget_key, minute) or counters(client.budget_key, minute + 1)
    assert got == {"requests": 2, "throttled": 2}  # one retry: two 429s


# --- flushing ----------------------------------------------------------------------
@pytest.mark.django_db
def test_the_sweep_flushes_finished_minutes_once_and_prunes_old_rows(reseller):
    make_account(reseller, "Acme Desk")
    now = datetime(2027, 1, 15, 12, 0, 30, tzinfo=UTC)
    ts = now.timestamp()
    ratelimit.record(KEY, "requests", 7, now=ts - 120)  # 11:58
    ratelimit.record(KEY, "waited", 2, now=ts - 120)
    ratelimit.record(KEY, "wait_ms", 1500, now=ts - 120)
    ratelimit.record(KEY, "requests", 3, now=ts - 60)  # 11:59
    ratelimit.record(KEY, "throttled", 1, now=ts - 60)
    ratelimit.record(KEY, "requests", 5, now=ts)  # 12:00: not finished yet
    old = RateBudgetMinute.objects.create(
        host=KEY, minute=now - timedelta(days=15), requests=1
    )
    kept = RateBudgetMinute.objects.create(
        host=KEY, minute=now - timedelta(days=13), requests=1
    )
    assert "2 host-minutes flushed, 1 old pruned" in ratebudget.sweep(now)
    assert ratebudget.sweep(now).startswith("rate budget: 0 host-minutes")
    # A second sweep that does not know what was flushed (cache marker lost)
    # writes the same values again: set, never added.
    cache.delete(ratebudget.FLUSHED_KEY)
    assert ratebudget.flush(now) == 2
    rows = {
        r.minute: (r.requests, r.waited, r.wait_ms, r.throttled, r.refused)
        for r in RateBudgetMinute.objects.exclude(pk=kept.pk)
    }
    assert rows == {
        datetime(2027, 1, 15, 11, 58, tzinfo=UTC): (7, 2, 1500, 0, 0),
        datetime(2027, 1, 15, 11, 59, tzinfo=UTC): (3, 0, 0, 1, 0),
    }
    assert not RateBudgetMinute.objects.filter(pk=old.pk).exists()
    # The current minute is flushed once it has ended.
    later = now + timedelta(minutes=1)
    assert ratebudget.flush(later) == 1
    assert RateBudgetMinute.objects.get(minute=now.replace(second=0)).requests == 5


@pytest.mark.django_db
def test_the_minute_sweep_task_runs_the_flush(reseller):
    make_account(reseller, "Acme Desk")
    ratelimit.record(KEY, "requests", 4, now=datetime.now(UTC).timestamp() - 70)
    assert "rate budget: 1 host-minutes flushed" in sweep()
    assert RateBudgetMinute.objects.get(host=KEY).requests == 4


# --- pages -------------------------------------------------------------------------
def _chart(page) -> dict:
    found = re.search(
        r'<script id="rate-data" type="application/json">(.*?)</script>',
        page.content.decode(),
        re.S,
    )
    assert found, "no rate-data json_script block"
    return json.loads(found.group(1))


@pytest.mark.django_db
@override_settings(VENDOR_RATE_LIMITS={})
def test_account_page_chart_equals_the_recorded_rows(reseller, personas, client):
    from django.utils import timezone

    account = make_account(reseller, "Acme Desk")
    now = timezone.now()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    rows = [
        (this_hour - timedelta(hours=3, minutes=-5), 40, 3, 2500, 1, 0),
        (this_hour - timedelta(hours=3, minutes=-6), 60, 0, 0, 2, 1),
        (this_hour - timedelta(hours=1, minutes=-30), 11, 1, 100, 0, 0),
        (this_hour - timedelta(days=2), 999, 9, 9, 9, 9),  # outside 24 h
    ]
    for minute, req, waited, ms, thr, ref in rows:
        RateBudgetMinute.objects.create(
            host=KEY,
            minute=minute,
            requests=req,
            waited=waited,
            wait_ms=ms,
            throttled=thr,
            refused=ref,
        )
    client.force_login(personas["manager"])
    page = client.get(reverse("core:account_detail", args=[account.pk]))
    assert page.status_code == 200
    data = _chart(page)
    (chart,) = data["charts"]
    sets = {s["label"]: s["data"] for s in chart["datasets"]}
    assert len(data["labels"]) == 24
    assert sum(sets["Requests"]) == 111
    assert sum(sets["Waits"]) == 4 and sum(sets["429s"]) == 3
    assert sum(sets["Refused"]) == 1
    assert set(sets["Budget"]) == {6000}  # Surfly: 100/m
    three_ago = data["labels"].index(f"{this_hour - timedelta(hours=3):%H:%M}")
    assert sets["Requests"][three_ago] == 100
    body = page.content.decode()
    assert "surfly.test" in body and 'data-chart="rate-0"' in body
    # The table holds the same numbers: 100 requests, 3 waits, 2.5 s waited.
    assert re.search(
        r'<td class="num">100</td><td class="num">6000</td><td class="num">3</td>'
        r'<td class="num">2.5</td><td class="num">3</td><td class="num">1</td>',
        body,
    )


@pytest.mark.django_db
def test_pages_show_only_the_workspaces_own_hosts(
    reseller, other_workspace, personas, client
):
    from django.utils import timezone

    mine = make_account(reseller, "Acme Desk")
    make_account(
        other_workspace,
        "Initech Desk",
        key=OTHER_SECRET,
        base_url="https://initech-surfly.test/v2",
    )
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    RateBudgetMinute.objects.create(host=KEY, minute=minute, requests=12)
    RateBudgetMinute.objects.create(
        host="surfly:initech-surfly.test", minute=minute, requests=777
    )
    client.force_login(personas["manager"])
    for url in (
        reverse("core:account_detail", args=[mine.pk]),
        reverse("core:run_list"),
    ):
        page = client.get(url)
        assert page.status_code == 200
        body = page.content.decode()
        # As a table cell: a random CSRF token in the page may hold "777".
        assert "initech-surfly.test" not in body and ">777<" not in body
        data = _chart(page)
        assert [sum(c["datasets"][0]["data"]) for c in data["charts"]] == [12]
    # The run list's filter fragment (htmx) does not read the budget again.
    fragment = client.get(reverse("core:run_list"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "rate-data" not in fragment.content.decode()


# --- Redis: one round trip per counter ------------------------------------------------
REDIS_URL = "redis://127.0.0.1:6379/3"


@pytest.fixture
def redis_cache():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    with override_settings(CACHES={"default": {**config, "LOCATION": REDIS_URL}}):
        from django.core.cache import caches

        caches["default"].clear()
        yield caches["default"]
        caches["default"].clear()


def test_on_redis_counters_are_one_pipeline_and_read_back(redis_cache):
    ts = 1_800_000_030.0
    minute = int(ts // 60)
    ratelimit.record("test:redis", "requests", 3, now=ts)
    ratelimit.record("test:redis", "requests", now=ts)
    ratelimit.record("test:redis", "throttled", now=ts)
    key = ratelimit.counter_key("test:redis", minute, "requests")
    assert redis_cache.get(key) == 4
    assert counters("test:redis", minute) == {"requests": 4, "throttled": 1}
    raw = redis_cache._cache.get_client(key)
    ttl = raw.ttl(redis_cache.make_and_validate_key(key))
    assert 0 < ttl <= ratelimit.COUNTER_TTL
