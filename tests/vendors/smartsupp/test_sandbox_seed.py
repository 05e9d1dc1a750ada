"""Seeding is deterministic at any size (the same ids, titles, keys, users,
triggers and hours for the same seed; different for another seed), a no-op on
a seeded sandbox unless reset, and fast at a reseller's 2,000 accounts and
20,000 users (bulk inserts). New ids follow the seeded ones."""

from __future__ import annotations

import time

import pytest

from vendors.smartsupp.sandbox import views
from vendors.smartsupp.sandbox.models import (
    Account,
    ApiKey,
    OfficeHours,
    Trigger,
    User,
)
from vendors.smartsupp.sandbox.seed import (
    CLIENT_KEY,
    FIRST_ID,
    MAIN_NAME,
    RESELLER_KEY,
    TRIGGERS_PER_ACCOUNT,
    USERS_PER_ACCOUNT,
    seed,
)

pytestmark = pytest.mark.django_db(databases="__all__")


def snapshot() -> tuple:
    accounts = list(
        Account.objects.order_by("number").values_list(
            "owner__key", "number", "title", "lang", "account_key"
        )
    )
    users = list(
        User.objects.order_by("number").values_list(
            "account__number", "number", "role", "email", "fullname", "active"
        )
    )
    triggers = list(
        Trigger.objects.order_by("number").values_list(
            "account__number", "number", "name", "active", "conditions", "actions"
        )
    )
    hours = list(
        OfficeHours.objects.order_by("account__number").values_list(
            "account__number", "active", "days", "timezone", "config"
        )
    )
    return accounts, users, triggers, hours


@pytest.mark.parametrize("size", [0, 1, 40])
def test_same_seed_same_data(size):
    seed(size=size, seed=5, reset=True)
    first = snapshot()
    seed(size=size, seed=5, reset=True)
    assert snapshot() == first
    reseller = Account.objects.filter(owner__key=RESELLER_KEY)
    assert reseller.count() == size
    assert Account.objects.filter(owner__key=CLIENT_KEY).count() == 1
    assert User.objects.count() == (size + 1) * USERS_PER_ACCOUNT
    assert Trigger.objects.count() == (size + 1) * TRIGGERS_PER_ACCOUNT
    assert OfficeHours.objects.count() == size + 1
    numbers = list(Account.objects.order_by("pk").values_list("number", flat=True))
    assert numbers == list(range(FIRST_ID, FIRST_ID + size + 1))
    if size:
        assert reseller.order_by("number").first().title == MAIN_NAME
    seed(size=size, seed=6, reset=True)
    if size > 1:
        assert snapshot() != first


def test_a_seeded_sandbox_is_kept_unless_reset():
    seed(size=3, seed=1, reset=True)
    assert "already seeded" in seed(size=10, seed=1)
    assert Account.objects.count() == 4
    assert set(ApiKey.objects.values_list("key", flat=True)) == {
        RESELLER_KEY,
        CLIENT_KEY,
    }


def test_new_ids_follow_the_seeded_ones():
    seed(size=3, seed=1, reset=True)
    top = max(Account.objects.values_list("number", flat=True))
    assert views.next_numbers("account") == top + 1
    top_user = max(User.objects.values_list("number", flat=True))
    assert views.next_numbers("user", 5) == top_user + 1
    assert views.next_numbers("user") == top_user + 6


def test_every_seeded_row_is_valid_for_the_sandbox_itself():
    # What the seed writes passes the sandbox's own checks (so a client that
    # reads and writes it back is never refused for seeded values).
    seed(size=20, seed=2, reset=True)
    emails = list(User.objects.values_list("email_key", flat=True))
    assert len(emails) == len(set(emails))
    for t in Trigger.objects.all():
        views._conditions(t.conditions)
        views._actions(t.actions)
    for h in OfficeHours.objects.all():
        views._days(h.days)
        views._config(h.config)
        assert h.timezone in views.TIMEZONES


@pytest.mark.slow
def test_a_reseller_with_2000_accounts_and_20000_users_seeds_fast():
    started = time.monotonic()
    seed(size=2000, seed=1, reset=True)
    took = time.monotonic() - started
    assert Account.objects.filter(owner__key=RESELLER_KEY).count() == 2000
    assert User.objects.filter(account__owner__key=RESELLER_KEY).count() == 20_000
    assert Trigger.objects.count() == 2001 * TRIGGERS_PER_ACCOUNT
    assert took < 30, f"seeding took {took:.1f} s"
