"""Deterministic SameSurf sandbox data: `seed(size, seed)` always yields the same
room numbers, tokens and keys.

The reseller subscription (key `sandbox-samesurf-reseller-key-0001`) gets three
running rooms, two scheduled rooms, a limited-use token, and `size` past rooms
(analytics rooms) over the last ~6 months, about a fifth of them with screen
recordings, a few room numbers used twice (versions 0 and 1). Its client
subscriptions include Globex (`sandbox-samesurf-client-key-0001`) with its own
running and past rooms. Timestamps count back from the start of the current
hour, so only their anchor moves between runs. Rows are bulk-inserted in
batches inside one transaction on the `sandbox` alias.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cobrowse_portal.vendorkit.sandbox.router import ALIAS

from .models import ApiKey, LimitedUseToken, Room, Subscription
from .records import new_number, new_token

RESELLER_KEY = "sandbox-samesurf-reseller-key-0001"
RESELLER_SECRET = "sandbox-samesurf-reseller-secret-0001-0123456789"
CLIENT_KEY = "sandbox-samesurf-client-key-0001"
CLIENT_SECRET = "sandbox-samesurf-client-secret-0001-0123456789"
RESELLER_NAME = "Acme Resellers (sandbox)"
BATCH = 5000
HISTORY_DAYS = 182

TITLES = ["Product demo", "Onboarding", "Support call", "Billing question", "", "Sales"]
URLS = [
    "https://www.samesurf.com",
    "https://shop.example.com/checkout",
    "https://www.example.com/pricing",
    "https://app.example.com/settings/billing",
    "https://help.example.com/articles/reset-password",
]
CLIENTS = [
    # name, key (None: random), licences, running rooms, share of `size` (%)
    ("Globex (sandbox)", CLIENT_KEY, 10, 2, 5),
    ("Initech (sandbox)", None, 3, 0, 1),
    ("Umbrella Health (sandbox)", None, 5, 1, 2),
]


def seed(size: int, seed: int = 1, reset: bool = False) -> str:
    """Fill the sandbox; a no-op when data exists, unless `reset`."""
    if Subscription.objects.exists() and not reset:
        return f"already seeded ({summary()}); use --reset to start over"
    rng = random.Random(seed)
    anchor = timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic(using=ALIAS):
        if reset:
            Subscription.objects.all().delete()
        reseller = Subscription.objects.create(
            name=RESELLER_NAME, is_reseller=True, license_count=50, created_at=anchor
        )
        ApiKey.objects.create(
            subscription=reseller, key=RESELLER_KEY, secret=RESELLER_SECRET
        )
        numbers: set[str] = set()
        _rooms(rng, reseller, size, 3, anchor, numbers)
        _scheduled(rng, reseller, anchor, numbers)
        for name, key, licences, live, share in CLIENTS:
            client = Subscription.objects.create(
                name=name,
                reseller=reseller,
                license_count=licences,
                overrides=[{"key": "welcome_active", "value": "false"}],
                created_at=anchor - timedelta(days=HISTORY_DAYS),
            )
            ApiKey.objects.create(
                subscription=client,
                key=key or f"ssk_{rng.getrandbits(96):024x}",
                secret=CLIENT_SECRET if key else f"{rng.getrandbits(192):048x}",
            )
            _rooms(rng, client, max(5, size * share // 100), live, anchor, numbers)
    return summary()


def summary() -> str:
    past = Room.objects.filter(ended_at__isnull=False).count()
    running = Room.objects.filter(started_at__isnull=False, ended_at__isnull=True)
    return (
        f"{Subscription.objects.count()} subscriptions, {running.count()} running "
        f"rooms, {past} past rooms"
    )


def _number(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = new_number(rng)
        if number not in taken:
            taken.add(number)
            return number


def _rooms(rng, sub, past: int, running: int, anchor, numbers: set[str]) -> None:
    batch: list[Room] = []
    span = HISTORY_DAYS * 24 * 3600
    previous: list[str] = []
    for i in range(past):
        # Oldest first, so a room number used again is the newer use.
        started = anchor - timedelta(
            seconds=int(span * (past - i - rng.random()) / past) + 3600
        )
        seconds = rng.randrange(60, 3600)
        reuse = bool(previous) and i % 50 == 49
        number = rng.choice(previous) if reuse else _number(rng, numbers)
        if not reuse:
            previous.append(number)
        batch.append(
            Room(
                subscription=sub,
                number=number,
                version=1 if reuse else 0,
                title=rng.choice(TITLES),
                start_url=rng.choice(URLS),
                token=new_token(rng),
                leader_token=new_token(rng),
                started_at=started,
                ended_at=started + timedelta(seconds=seconds),
                duration=seconds,
                recordings=rng.choice((0, 0, 0, 0, 1, 1, 2, 3))
                if rng.random() < 0.4
                else 0,
                experience=rng.choice(("", "browser", "mobile")),
            )
        )
        if reuse:
            previous.remove(number)  # used twice now; never a third time
        if len(batch) >= BATCH:
            Room.objects.bulk_create(batch)
            batch = []
    for i in range(running):
        batch.append(
            Room(
                subscription=sub,
                number=_number(rng, numbers),
                title=rng.choice(TITLES[:4]),
                start_url=rng.choice(URLS),
                token=new_token(rng),
                leader_token=new_token(rng),
                started_at=anchor - timedelta(minutes=5 + 7 * i),
            )
        )
    Room.objects.bulk_create(batch)
    live = Room.objects.filter(
        subscription=sub, ended_at__isnull=True, started_at__isnull=False
    )
    first = live.order_by("started_at").first()
    if first is not None:
        LimitedUseToken.objects.create(
            room=first,
            token=new_token(rng),
            usage_limit=1,
            is_leader=False,
            users_name="Guest",
        )


def _scheduled(rng, sub, anchor, numbers: set[str]) -> None:
    for days, zone, invitees in (
        (2, "Europe/London", "ana@example.net"),
        (9, "America/New_York", "sam@example.org,jo@example.com"),
    ):
        Room.objects.create(
            subscription=sub,
            number=_number(rng, numbers),
            title="Scheduled demo",
            start_url=URLS[0],
            token=new_token(rng),
            leader_token=new_token(rng),
            event_at=anchor + timedelta(days=days),
            timezone=zone,
            length_minutes=30,
            invitees=invitees,
            invite_message="Looking forward to it",
        )
