"""What every vendor sandbox needs on each request: the documented rate limit per
client address, and per-account fault injection (429 with Retry-After, 500, slow
answers, timeouts, malformed JSON); and for the webhooks a sandbox sends, lost
deliveries (every Nth dropped, `drop_delivery`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, JsonResponse

from ..ratelimit import Rate
from .models import FaultProfile

_rng = random.Random()
# A profile with a `seed` draws from its own generator: a test can replay the
# exact same sequence of faults.
_seeded: dict[tuple[str, str, int], random.Random] = {}


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def over_rate_limit(vendor: str, request) -> float | None:
    """Count this request against the per-address budget; seconds to wait if over."""
    rate = Rate.parse(settings.SANDBOX_RATE_LIMIT)
    if rate is None:
        return None
    now = time.time()
    window = int(now // rate.period)
    key = f"sandbox:rl:{vendor}:{client_address(request)}:{window}"
    cache.add(key, 0, timeout=int(rate.period) + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=int(rate.period) + 5)
        count = 1
    if count > rate.count:
        return max(1.0, (window + 1) * rate.period - now)
    return None


def set_faults(vendor: str, account_key: str, **values) -> FaultProfile:
    """Create or change the fault profile of one sandbox account."""
    values.setdefault("webhook_deliveries", 0)  # number deliveries anew
    profile, _ = FaultProfile.objects.update_or_create(
        vendor=vendor, account_key=account_key, defaults=values
    )
    _seeded.pop((vendor, account_key, profile.seed), None)  # replay from the start
    return profile


def clear_faults(vendor: str, account_key: str) -> None:
    FaultProfile.objects.filter(vendor=vendor, account_key=account_key).delete()


def drop_delivery(vendor: str, account_key: str) -> bool:
    """Number one webhook delivery of the account; True if its profile drops
    it (`webhook_drop_every` N: deliveries N, 2N, ... are lost, as if the
    vendor's post never reached the portal). Deterministic: the numbering is
    the order the sandbox sends in."""
    from .router import ALIAS

    profile = FaultProfile.objects.filter(
        vendor=vendor, account_key=account_key, webhook_drop_every__gt=0
    )
    with transaction.atomic(using=ALIAS):
        if not profile.update(webhook_deliveries=F("webhook_deliveries") + 1):
            return False
        number, every = profile.values_list(
            "webhook_deliveries", "webhook_drop_every"
        ).get()
    return number % every == 0


def inject(
    vendor: str,
    account_key: str,
    *,
    throttled: Callable[[int], HttpResponse] | None = None,
) -> HttpResponse | None:
    """Maybe answer with a fault instead of the real response (None: carry on)."""
    profile = FaultProfile.objects.filter(
        vendor=vendor, account_key=account_key
    ).first()
    if profile is None:
        return None
    if profile.delay_ms:
        time.sleep(profile.delay_ms / 1000)
    rng = _rng
    if profile.seed is not None:
        rng = _seeded.setdefault(
            (vendor, account_key, profile.seed), random.Random(profile.seed)
        )
    roll = rng.random()
    edge = profile.rate_429
    if roll < edge:
        response = (
            throttled(profile.retry_after_seconds)
            if throttled
            else JsonResponse({"detail": "Request was throttled."}, status=429)
        )
        response["Retry-After"] = str(profile.retry_after_seconds)
        return response
    edge += profile.rate_500
    if roll < edge:
        return HttpResponse(
            "<h1>Server Error (500)</h1>", status=500, content_type="text/html"
        )
    edge += profile.rate_timeout
    if roll < edge:
        # Longer than the client's read timeout; the client gives up first.
        time.sleep(profile.timeout_seconds)
        return HttpResponse(status=504)
    edge += profile.rate_malformed
    if roll < edge:
        return HttpResponse(
            b'{"results": [{"id": "trunc', content_type="application/json", status=200
        )
    return None
