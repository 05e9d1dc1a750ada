"""The SameSurf sandbox's seed: deterministic, at any size, through the shared
`sandbox_seed` and `sandbox_faults` commands."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from cobrowse_portal.vendorkit.sandbox.models import FaultProfile
from vendors.samesurf.sandbox.models import ApiKey, LimitedUseToken, Room, Subscription
from vendors.samesurf.sandbox.seed import CLIENT_KEY, RESELLER_KEY, RESELLER_NAME, seed

from .conftest import SANDBOX

pytestmark = SANDBOX


def snapshot() -> list:
    return sorted(
        Room.objects.values_list(
            "subscription__name", "number", "version", "token", "duration", "recordings"
        )
    )


def test_the_same_seed_gives_the_same_rooms_and_keys():
    seed(size=120, seed=3, reset=True)
    first, keys = snapshot(), sorted(ApiKey.objects.values_list("key", "secret"))
    seed(size=120, seed=3, reset=True)
    assert snapshot() == first
    assert sorted(ApiKey.objects.values_list("key", "secret")) == keys
    seed(size=120, seed=4, reset=True)
    assert snapshot() != first


def test_what_a_seed_holds():
    summary = seed(size=500, seed=1, reset=True)
    reseller = Subscription.objects.get(name=RESELLER_NAME)
    assert reseller.is_reseller and reseller.keys.get().key == RESELLER_KEY
    assert Subscription.objects.get(keys__key=CLIENT_KEY).reseller == reseller
    past = Room.objects.filter(subscription=reseller, ended_at__isnull=False)
    assert past.count() == 500
    running = Room.objects.filter(subscription=reseller, ended_at__isnull=True)
    assert running.filter(started_at__isnull=False).count() == 3
    assert running.filter(event_at__isnull=False).count() == 2  # scheduled
    assert past.filter(recordings__gt=0).count() > 50  # a fair share recorded
    assert past.filter(version=1).exists()  # a room number used twice
    days = {r.started_at.date() for r in past}
    assert len({(d.year, d.month) for d in days}) >= 6  # months of history
    assert LimitedUseToken.objects.filter(room__subscription=reseller).exists()
    assert (
        f"{Room.objects.filter(ended_at__isnull=False).count()} past rooms" in summary
    )


def test_seed_and_faults_commands():
    out = StringIO()
    call_command("sandbox_seed", "samesurf", "--size", "30", "--reset", stdout=out)
    assert "past rooms" in out.getvalue()
    call_command("sandbox_seed", "samesurf", "--size", "30", stdout=out)
    assert "already seeded" in out.getvalue()
    call_command(
        "sandbox_faults", "samesurf", RESELLER_KEY, "--rate-500", "0.2", stdout=out
    )
    assert FaultProfile.objects.get(vendor="samesurf").rate_500 == 0.2
    call_command("sandbox_faults", "samesurf", RESELLER_KEY, "--off", stdout=out)
    assert not FaultProfile.objects.exists()
