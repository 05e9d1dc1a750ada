"""Seeding is deterministic at any size: the same ids, people and sessions for
the same seed (only the hour they count back from moves), different for
another seed, and a no-op on a seeded sandbox unless reset."""

from __future__ import annotations

import pytest

from vendors.upscope.sandbox.models import Account, Agent, CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import MAIN_KEY, STATE_KEYS, seed

pytestmark = pytest.mark.django_db(databases="__all__")


def snapshot() -> tuple:
    visitors = list(
        Visitor.objects.order_by("account__api_key", "short_id").values_list(
            "account__api_key",
            "short_id",
            "email",
            "tags",
            "lookup_code",
            "cycle_minutes",
            "phase_minutes",
            "online_minutes",
        )
    )
    agents = list(Agent.objects.order_by("agent_id").values_list("agent_id", "name"))
    sessions = list(
        CobrowsingSession.objects.order_by("account__api_key", "number").values_list(
            "account__api_key",
            "number",
            "visitor_short_id",
            "agent_ids",
            "metadata",
            "features_used",
        )
    )
    return visitors, agents, sessions


@pytest.mark.parametrize("size", [0, 1, 300])
def test_same_seed_same_data(size):
    seed(size=size, seed=5, reset=True)
    first = snapshot()
    seed(size=size, seed=5, reset=True)
    assert snapshot() == first
    main = CobrowsingSession.objects.filter(account__api_key=MAIN_KEY)
    assert main.count() == size + 2
    numbers = list(main.order_by("started_at").values_list("number", flat=True))
    assert numbers == sorted(numbers)  # ids follow start order
    seed(size=size, seed=6, reset=True)
    assert snapshot() != first


def test_accounts_cover_every_401_state_and_a_full_plan():
    seed(size=20, seed=1, reset=True)
    states = dict(Account.objects.values_list("api_key", "state"))
    for state, key in STATE_KEYS.items():
        assert states[key] == state
    assert Account.objects.filter(session_limit=0).count() == 1
    assert "already seeded" in seed(size=20, seed=1)
