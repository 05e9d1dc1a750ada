"""Every Upscope client method against the sandbox over real HTTP: the
production code path (X-Api-Key, envelopes, error mapping, paging), with only
the base URL and key of a sandbox account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cobrowse_portal.vendorkit import errors
from vendors.upscope.client import VisitorOnline
from vendors.upscope.sandbox.models import CobrowsingSession, Visitor
from vendors.upscope.sandbox.seed import FULL_KEY, MAIN_KEY, MAIN_NAME

from .conftest import SANDBOX, SEED_SIZE, client_for

pytestmark = SANDBOX


def main_sessions():
    return CobrowsingSession.objects.filter(account__name=MAIN_NAME)


def all_items(pages) -> list:
    return [item for page in pages for item in page.items]


def test_check_connection_and_usage(api):
    assert api.check_connection().startswith("API key accepted (")
    usage = api.usage()
    now = timezone.now()
    sessions = main_sessions()
    assert usage.sessions_now == sessions.filter(ended_at__isnull=True).count() == 2
    assert (
        usage.sessions_last_30_days
        == sessions.filter(started_at__gte=now - timedelta(days=30)).count()
    )
    assert usage.visitors_online_now >= 2  # two visitors are always online
    assert usage.agents_last_30_days >= 1
    assert usage.session_seconds_last_30_days > 0
    assert api.requests_made == 2


def test_list_the_latest_visitors_and_max_results(api):
    latest = api.list_visitors()
    assert len(latest) == 10
    assert all(v.short_id and v.added_at for v in latest)
    one = api.list_visitors(max_results=1)
    assert len(one) == 1 and one[0].short_id == latest[0].short_id
    # Asked for more than Upscope allows: capped at 10 before sending.
    assert len(api.list_visitors(max_results=50)) == 10


def test_get_a_visitor_with_sessions(api):
    v = api.get_visitor("v0001")
    assert v.email == "ana.lima@example.com" and v.unique_id == "cust-0001"
    assert v.tags == ["#VIP", "#CHECKOUT"] and v.lookup_code == "1234"
    assert v.is_online and v.is_in_session  # the seed runs a session with Ana
    assert v.last_url.startswith("https://")
    stored = main_sessions().filter(visitor_short_id="v0001").count()
    assert len(v.sessions) == min(50, stored)
    assert any(s.ongoing for s in v.sessions)
    assert all(s.visitor_id == "v0001" for s in v.sessions)


def test_an_unknown_visitor_is_not_found(api):
    for call in (
        lambda: api.get_visitor("nobody"),
        lambda: api.stop_session("nobody"),
        lambda: api.delete_visitor("nobody"),
        lambda: api.create_watch_url("nobody", agent_id="1", agent_name="A"),
    ):
        with pytest.raises(errors.NotFound) as info:
            call()
        assert info.value.status == 404


def test_visitor_ids_are_quoted_into_the_path(api):
    # Unquoted, "?x=1" would become a query string and fetch v0001.
    with pytest.raises(errors.NotFound):
        api.get_visitor("v0001?x=1")
    with pytest.raises(errors.NotFound):
        api.get_visitor("../usage")


def test_watch_url_starts_a_session_with_every_option(api):
    link = api.create_watch_url(
        "v0003",
        agent_id="agent-42",
        agent_name="Joe Smith",
        naked="page_only",
        on_end_url="https://portal.example.com/done",
        retry_url="https://portal.example.com/retry",
        permissions={"allow_console": True, "allow_draw": False},
        metadata={"ticket": "T-1", "priority": 2, "vip": True},
        initial_notes="Checklist",
        language="en",
        viewer_id="v-1",
        viewer_name="Viewer",
    )
    assert link.watch_url.startswith("https://cobrowsingapi.com/session/")
    assert link.expires_at > timezone.now()
    visitor = api.get_visitor("v0003")
    assert visitor.is_in_session and visitor.is_online
    ongoing = all_items(api.cobrowsing_sessions(ongoing_only=True))
    mine = [s for s in ongoing if s.visitor_id == "v0003"]
    assert len(mine) == 1
    session = mine[0]
    assert session.metadata == {"ticket": "T-1", "priority": 2, "vip": True}
    assert session.agents[0].external_id == "agent-42"
    assert session.agents[0].name == "Joe Smith"
    assert "draw" not in session.features_used
    # The agent is an external agent now, found by its external id.
    agent = api.lookup_agent(external_id="agent-42")
    assert agent.name == "Joe Smith" and agent.sessions[0].id == session.id


def test_watch_url_over_the_plan_is_a_quota_error(sandbox):
    api = client_for(sandbox, FULL_KEY)
    with pytest.raises(errors.QuotaExceeded) as info:
        api.create_watch_url("v0001", agent_id="1", agent_name="A")
    assert info.value.status == 402
    assert "subscription limits" in info.value.user_message()


def test_nested_metadata_is_refused_before_sending(api):
    with pytest.raises(errors.PermanentVendorError) as info:
        api.create_watch_url(
            "v0001", agent_id="1", agent_name="A", metadata={"a": {"b": 1}}
        )
    assert "flat" in info.value.user_message()
    assert "metadata" in info.value.field_errors
    with pytest.raises(errors.PermanentVendorError):
        api.create_watch_url("v0001", agent_id="1", agent_name="")
    assert api.requests_made == 0


def test_stop_is_never_a_confirmation(api):
    api.create_watch_url("v0004", agent_id="1", agent_name="A")
    stopped = api.stop_session("v0004")
    assert stopped.confirmed is False and "does not say" in stopped.message
    assert not api.get_visitor("v0004").is_in_session
    # Nothing runs now: Upscope (and the sandbox) answer the same ok.
    again = api.stop_session("v0004")
    assert again.confirmed is False
    assert (
        not main_sessions()
        .filter(visitor_short_id="v0004", ended_at__isnull=True)
        .exists()
    )


def test_delete_a_visitor_offline_only(api):
    with pytest.raises(VisitorOnline) as info:
        api.delete_visitor("v0001")
    assert info.value.status == 409
    api.delete_visitor("v0003")  # never online by itself
    with pytest.raises(errors.NotFound):
        api.get_visitor("v0003")


def test_delete_all_offline_visitors(api):
    online_before = {v.short_id for v in api.list_visitors("online")}
    assert api.list_visitors("-online")
    api.delete_offline_visitors()
    assert api.list_visitors("-online") == []
    left = Visitor.objects.filter(account__api_key=MAIN_KEY)
    assert online_before <= set(left.values_list("short_id", flat=True))
    assert {v.short_id for v in api.list_visitors("online")} == online_before


def test_lookup_agents_by_email_and_external_id(api):
    alice = api.lookup_agent(email="alice@acme.test")
    assert alice.name == "Alice Agent" and alice.kind == "user"
    assert 0 < len(alice.sessions) <= 10
    assert all(alice.id in [a.id for a in s.agents] for s in alice.sessions)
    erin = api.lookup_agent(external_id="ext-erin")
    assert erin.external_id == "ext-erin" and erin.kind == "external_agent"
    with pytest.raises(errors.NotFound):
        api.lookup_agent(email="nobody@acme.test")
    with pytest.raises(ValueError):
        api.lookup_agent(email="a@b.c", external_id="x")


def test_sessions_page_by_after_id_and_resume(api):
    pages = list(api.cobrowsing_sessions())
    sessions = all_items(pages)
    assert len(sessions) == SEED_SIZE + 2 == main_sessions().count()
    assert len(pages) == 3 and [len(p.items) for p in pages] == [100, 100, 52]
    numbers = [int(s.id[2:]) for s in sessions]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    starts = [s.started_at for s in sessions]
    assert starts == sorted(starts)
    assert pages[0].cursor == {"after": sessions[99].id}
    rest = all_items(api.cobrowsing_sessions(resume=pages[0].cursor))
    assert [s.id for s in rest] == [s.id for s in sessions[100:]]
    after = all_items(api.cobrowsing_sessions(after_id=sessions[-3].id))
    assert [s.id for s in after] == [s.id for s in sessions[-2:]]
    assert api.requests_made == 3 + 2 + 1


def test_sessions_before_id_ongoing_only_and_updated_after(api):
    sessions = all_items(api.cobrowsing_sessions())
    before = all_items(api.cobrowsing_sessions(before_id=sessions[150].id))
    assert [s.id for s in before][-1] == sessions[149].id
    ongoing = all_items(api.cobrowsing_sessions(ongoing_only=True))
    assert len(ongoing) == 2 and all(s.ongoing and not s.ended_at for s in ongoing)
    cut = sessions[-10].updated_at
    changed = all_items(api.cobrowsing_sessions(updated_after=cut))
    assert {s.id for s in changed} == {
        s.id for s in sessions if s.updated_at and s.updated_at > cut
    }
    assert changed and len(changed) < 10


def test_onpremise_token(api, sandbox):
    token = api.onpremise_token("VISITOR123", agent_id="123", agent_name="Joe Smith")
    assert token.authorized and token.token.count(".") == 2
    with pytest.raises(errors.QuotaExceeded):
        client_for(sandbox, FULL_KEY).onpremise_token(
            "VISITOR123", agent_id="123", agent_name="Joe Smith"
        )
