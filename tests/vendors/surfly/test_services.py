"""Surfly write services: each calls Surfly (faked with `responses` at the exact
paths of the spec, `api_key` in the query) and stores Surfly's answer locally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from responses import matchers

from cobrowse_portal.core.choices import WorkspaceKind
from cobrowse_portal.core.models import VendorAccount, Workspace
from cobrowse_portal.vendorkit.errors import (
    PermanentVendorError,
    TransientVendorError,
)
from vendors.surfly import services
from vendors.surfly.models import (
    CobrowseSession,
    SurflyAgent,
    SurflyClient,
    SurflyCompanyOptions,
    SurflyWebhook,
)

from .fake_api import (
    AGENT,
    BASE,
    KEY,
    expect_client_sessions,
    expect_webhook_create,
    on,
    webhook,
    webhook_listing,
)

SESSION = {
    "id": "s1abc",
    "session_id": "s1abcd",
    "formatted_id": "123-456-789",
    "agent_id": "42",
    "follower_link": "https://surfly.test/123-456-789",
    "leader_link": "https://surfly.test/leader/xyz",
    "cobro_server_name": "eu1.surfly.test",
    "start_time": "2024-05-01T10:00:00Z",
    "end_time": None,
    "duration": None,
    "participant_num": 1,
    "successful_start": None,
    "queued": False,
    "pin": "1234",
    "start_url": "https://shop.example.com/",
    "meta": '{"customer": "c-1"}',
    "tags": ["billing"],
    "options": {"videochat": True},
}


@pytest.fixture
def live_session(account) -> CobrowseSession:
    return CobrowseSession.objects.create(
        account=account,
        external_id="s1abcd",
        api_id="s1abc",
        start_time=timezone.now() - timedelta(minutes=3),
        is_active=True,
        leader_link="https://surfly.test/leader/xyz",
    )


# --- agents -----------------------------------------------------------------------
def test_create_agent_stores_surflys_view(account, mocked):
    on(
        mocked,
        "POST",
        "agents/",
        status=201,
        json={"agent_id": "42"},
        body={
            "username": "Alice",
            "agent_email": "alice@example.com",
            "password": "s3cret-pass",
            "role": "manager",
        },
    )
    on(mocked, "GET", "agents/42/", json={**AGENT, "role": "manager"})
    row = services.create_agent(
        account,
        username="Alice",
        agent_email="alice@example.com",
        password="s3cret-pass",
        role="manager",
    )
    assert row.external_id == "42"
    assert (row.name, row.email, row.role, row.available) == (
        "Alice",
        "alice@example.com",
        "manager",
        True,
    )
    assert row.last_login == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert "s3cret-pass" not in str(row.raw)


def test_create_agent_refused_keeps_db_untouched(account, mocked):
    on(
        mocked,
        "POST",
        "agents/",
        status=400,
        json={"errors": {"agent_email": ["Enter a valid email"]}},
    )
    with pytest.raises(PermanentVendorError) as info:
        services.create_agent(
            account, username="A", agent_email="nope@x", password="pw", role="agent"
        )
    assert info.value.field_errors == {"agent_email": ["Enter a valid email"]}
    assert info.value.user_message() == "Enter a valid email"
    assert not SurflyAgent.objects.exists()


def test_create_agent_transient_failure_is_flagged(account, mocked):
    on(mocked, "POST", "agents/", status=503, body=None)
    with pytest.raises(TransientVendorError) as info:
        services.create_agent(
            account,
            username="A",
            agent_email="a@example.com",
            password="pw",
            role="agent",
        )
    assert info.value.transient
    assert not SurflyAgent.objects.exists()


def test_update_agent_puts_username_and_available(account, agent, mocked):
    on(
        mocked,
        "PUT",
        "agents/42/",
        body={"username": "Alice B", "available": False, "role": "admin"},
        json={
            "agent_name": "Alice B",
            "agent_id": 42,
            "agent_email": "alice@example.com",
            "role": "admin",
            "available": False,
        },
    )
    services.update_agent(
        account, agent, username="Alice B", available=False, role="admin"
    )
    agent.refresh_from_db()
    assert (agent.name, agent.role, agent.available, agent.is_free) == (
        "Alice B",
        "admin",
        False,
        False,
    )
    # The PUT answer has no last_login: the stored one is kept.
    assert agent.last_login is None or agent.last_login.year == 2024


def test_toggle_availability_flips(account, agent, mocked):
    on(
        mocked,
        "PUT",
        "agents/42/",
        body={"username": "Alice", "available": False},
        json={**AGENT, "available": False},
    )
    services.toggle_availability(account, agent)
    agent.refresh_from_db()
    assert agent.available is False


# Agents and clients are deleted alike: DELETE at Surfly, then the row is marked
# removed, also when Surfly no longer has the object (404).
DELETES = {
    "agent": (
        "agent",
        "agents/42/",
        services.delete_agent,
        {"errors": {"agent_id": ["Agent was not found"]}},
    ),
    "client": (
        "client_row",
        "clients/all/ck-globex/",
        services.delete_client,
        {"errors": {"client_key": ["Client was not found"]}},
    ),
}


@pytest.mark.parametrize(
    "kind,answer", [("agent", "Agent was deleted"), ("client", "Client deleted")]
)
def test_delete_marks_row_removed(request, account, mocked, kind, answer):
    row_fixture, path, delete, _ = DELETES[kind]
    row = request.getfixturevalue(row_fixture)
    on(mocked, "DELETE", path, json={"response": answer})
    assert delete(account, row) == answer
    row.refresh_from_db()
    assert row.removed_at is not None


@pytest.mark.parametrize("kind", DELETES)
def test_delete_already_gone_at_surfly(request, account, mocked, kind):
    row_fixture, path, delete, not_found = DELETES[kind]
    row = request.getfixturevalue(row_fixture)
    on(mocked, "DELETE", path, status=404, json=not_found)
    assert delete(account, row) == f"Surfly no longer had this {kind}."
    row.refresh_from_db()
    assert row.removed_at is not None


def test_access_token_is_returned_not_stored(account, agent, mocked):
    on(
        mocked,
        "POST",
        "agents/access-token/",
        body={"agent_id": 42, "force_new": True},  # an integer, as the spec says
        json={
            "user_created": False,
            "agent_token": "tok-abcdef-123456",
            "expires_in": 86400,
            "agent_id": 42,
            "agent_role": "agent",
        },
    )
    before = timezone.now()
    issued = services.generate_access_token(account, agent, force_new=True)
    assert issued.token == "tok-abcdef-123456"
    assert issued.hours == 24
    assert before + timedelta(hours=23, minutes=59) < issued.expires_at
    agent.refresh_from_db()
    assert "tok-abcdef" not in str(agent.raw)
    assert agent.last_login >= before


def test_access_token_by_email_never_sends_a_null_name(account, mocked):
    """Without agent_id the spec requires email and name: a nameless user is
    named after the e-mail's local part."""
    answer = {"user_created": True, "agent_token": "tok-new-000001",
              "expires_in": 86400, "agent_id": 7, "agent_role": "agent"}  # fmt: skip
    on(mocked, "POST", "agents/access-token/", json=answer,
       body={"email": "ethan@imf.test", "name": "ethan"})  # fmt: skip
    on(mocked, "POST", "agents/access-token/", json=answer,
       body={"email": "ethan@imf.test", "name": "Ethan Hunt"})  # fmt: skip
    client = services.client_for(account)
    assert client.agent_access_token(email="ethan@imf.test").agent_id == "7"
    client.agent_access_token(email="ethan@imf.test", name="Ethan Hunt")


# --- sessions ---------------------------------------------------------------------
def test_start_session_stores_row_with_leader_link(account, mocked):
    on(
        mocked,
        "POST",
        "sessions/",
        json=SESSION,
        body={
            "url": "https://shop.example.com/",
            "tags": ["billing"],
            "agent_id": 42,  # an integer, as the spec says (the row keeps "42")
            "skip_queue": True,
            "videochat": True,
        },
    )
    row = services.start_session(
        account,
        url="https://shop.example.com/",
        tags=["billing"],
        agent_id="42",
        skip_queue=True,
        options={"videochat": True},
    )
    assert row.external_id == "s1abcd" and row.api_id == "s1abc"
    assert row.leader_link == "https://surfly.test/leader/xyz"
    assert row.follower_link == "https://surfly.test/123-456-789"
    assert row.is_active and row.tags == ["billing"] and row.pin == "1234"
    assert row.meta == {"customer": "c-1"}
    assert row.options == {"videochat": True}


def test_end_session_stores_end_time_and_duration(account, live_session, mocked):
    on(
        mocked,
        "POST",
        "sessions/s1abc/end/",
        json={
            **SESSION,
            "leader_link": None,
            "end_time": "2024-05-01T10:05:00Z",
            "duration": "300",
        },
    )
    services.end_session(account, live_session)
    live_session.refresh_from_db()
    assert not live_session.is_active
    assert live_session.duration == 300
    assert live_session.end_time == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)


def test_end_session_without_end_time_still_ends(account, live_session, mocked):
    on(mocked, "POST", "sessions/s1abc/end/", json={**SESSION, "end_time": None})
    services.end_session(account, live_session)
    live_session.refresh_from_db()
    assert not live_session.is_active and live_session.end_time is not None


def test_take_screenshot_creates_then_reads_latest(account, live_session, mocked):
    mocked.add(
        "POST",
        f"{BASE}/sessions/s1abc/screenshots/create/",
        match=[
            matchers.query_param_matcher({"api_key": KEY}),
            # Both are required by the spec; no interval given: its example's 30.
            matchers.json_params_matcher({"size": 800, "interval": 30}),
        ],
        body="GENERATION-STARTED",
        content_type="text/plain",
    )
    on(
        mocked,
        "GET",
        "sessions/s1abc/screenshots/latest/",
        json={"url": "https://s3.test/shot.webp"},
    )
    shot = services.take_screenshot(account, live_session, size=800)
    assert (shot.state, shot.url) == ("GENERATION-STARTED", "https://s3.test/shot.webp")


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ({}, {"size": 1024, "interval": 30}),
        ({"size": 0, "interval": None}, {"size": 1024, "interval": 30}),
        ({"size": 640, "interval": 5}, {"size": 640, "interval": 5}),
    ],
)
def test_take_screenshot_always_sends_size_and_interval(
    account, live_session, mocked, given, sent
):
    mocked.add(
        "POST",
        f"{BASE}/sessions/s1abc/screenshots/create/",
        match=[
            matchers.query_param_matcher({"api_key": KEY}),
            matchers.json_params_matcher(sent),
        ],
        body='"ALREADY-RUNNING"',
        content_type="text/plain",
    )
    on(mocked, "GET", "sessions/s1abc/screenshots/latest/", status=404, json={})
    shot = services.take_screenshot(account, live_session, **given)
    assert shot.state == "ALREADY-RUNNING" and shot.url is None
    assert shot.interval == sent["interval"] and shot.taken_at is not None


def test_screenshot_failed_internally_is_permanent(account, live_session, mocked):
    mocked.add(
        "POST",
        f"{BASE}/sessions/s1abc/screenshots/create/",
        match=[matchers.query_param_matcher({"api_key": KEY})],
        body='"FAILED-INTERNALLY"',
        content_type="text/plain",
    )
    with pytest.raises(PermanentVendorError):
        services.take_screenshot(account, live_session)


# --- company options --------------------------------------------------------------
def test_update_options_patches_changes_only(account, mocked):
    SurflyCompanyOptions.objects.create(
        account=account,
        external_id="company",
        options={"videochat": True, "language": "en", "theme_font_size": 14},
    )
    on(
        mocked,
        "PATCH",
        "company/options/",
        body={"videochat": False},
        json={"videochat": False, "language": "en", "theme_font_size": 14},
    )
    stored = services.update_options(account, {"videochat": False})
    assert stored.options == {
        "videochat": False,
        "language": "en",
        "theme_font_size": 14,
    }


def test_reset_options_deletes_then_stores_defaults(account, mocked):
    SurflyCompanyOptions.objects.create(
        account=account, external_id="company", options={"videochat": False}
    )
    on(mocked, "DELETE", "company/options/", body=None)
    on(mocked, "GET", "company/options/", json={"videochat": True, "language": "en"})
    stored = services.reset_options(account)
    assert stored.options == {"videochat": True, "language": "en"}
    assert SurflyCompanyOptions.objects.filter(account=account).count() == 1


# --- webhooks ---------------------------------------------------------------------
HOOK = {
    "id": 7,
    "url": "https://portal.test/hooks/1/t/",
    "category": "session.started",
    "enabled": True,
    "ssl_verification": True,
    "company_id": 3,
}


def test_create_webhook_stores_201_answer(account, mocked):
    on(
        mocked,
        "POST",
        "webhooks/",
        status=201,
        json=HOOK,
        body={
            "url": HOOK["url"],
            "category": "session.started",
            "enabled": True,
            "ssl_verification": True,
        },
    )
    hook = services.create_webhook(account, url=HOOK["url"], category="session.started")
    assert (hook.external_id, hook.enabled, hook.company_id) == ("7", True, "3")


@pytest.mark.parametrize(
    "was_enabled,was_off_by_portal,enabled,expected",
    [
        # The user switches it off: marked as switched off by the portal.
        pytest.param(True, False, False, (False, True, False), id="switch-off"),
        # Switched on again: the portal's flag is cleared.
        pytest.param(False, True, True, (True, False, False), id="re-enable"),
        # Surfly had switched it off and it is saved still off: still Surfly's.
        pytest.param(False, False, False, (False, False, True), id="keep-surflys"),
    ],
)
def test_update_webhook_says_who_switched_it_off(
    account, mocked, was_enabled, was_off_by_portal, enabled, expected
):
    hook = SurflyWebhook.objects.create(
        account=account,
        external_id="7",
        url=HOOK["url"],
        category="session.started",
        enabled=was_enabled,
        disabled_by_portal=was_off_by_portal,
    )
    on(
        mocked,
        "PUT",
        "webhooks/7/",
        json={**HOOK, "enabled": enabled},
        body={
            "url": HOOK["url"],
            "category": "session.started",
            "enabled": enabled,
            "ssl_verification": True,
        },
    )
    services.update_webhook(
        account,
        hook,
        url=HOOK["url"],
        category="session.started",
        enabled=enabled,
        ssl_verification=True,
    )
    hook.refresh_from_db()
    state = (hook.enabled, hook.disabled_by_portal, hook.switched_off_by_surfly)
    assert state == expected


def test_delete_webhook_204(account, mocked):
    hook = SurflyWebhook.objects.create(
        account=account, external_id="7", url=HOOK["url"], category="session.started"
    )
    on(mocked, "DELETE", "webhooks/7/", status=204)
    services.delete_webhook(account, hook)
    hook.refresh_from_db()
    assert hook.removed_at is not None


# --- registering this portal's receiver ----------------------------------------------
RECEIVER = "https://portal.test/hooks/1/tok-secret/"


def test_register_receiver_creates_the_missing_categories(account, mocked):
    on(
        mocked,
        "GET",
        "webhooks/",
        json=webhook_listing(
            webhook(5, RECEIVER, "session.started"),
            webhook(6, "https://elsewhere.test/h", "session.queued"),
        ),
    )
    expect_webhook_create(mocked, RECEIVER, 11, "session.queued")
    expect_webhook_create(mocked, RECEIVER, 12, "session.ended")
    done = services.register_receiver(account, RECEIVER)
    assert done.created == ["session.queued", "session.ended"]
    assert done.existing == ["session.started"]
    assert done.error is None and done.failed == ""
    rows = SurflyWebhook.objects.filter(account=account, url=RECEIVER)
    assert sorted(rows.values_list("category", "external_id")) == [
        ("session.ended", "12"),
        ("session.queued", "11"),
        ("session.started", "5"),  # found at Surfly, now stored too
    ]
    # One POST per missing category, nothing else written.
    posts = [c for c in mocked.calls if c.request.method == "POST"]
    assert len(posts) == 2


def test_register_receiver_when_all_are_there_sends_nothing(account, mocked):
    on(
        mocked,
        "GET",
        "webhooks/",
        json=webhook_listing(
            webhook(1, RECEIVER, "session.queued"),
            webhook(2, RECEIVER, "session.started"),
            webhook(3, RECEIVER, "session.ended", enabled=False),
        ),
    )
    done = services.register_receiver(account, RECEIVER)
    assert (done.created, done.existing) == (
        [],
        ["session.queued", "session.started", "session.ended"],
    )
    assert [c.request.method for c in mocked.calls] == ["GET"]


def test_register_receiver_refused_at_once_raises(account, mocked):
    on(mocked, "GET", "webhooks/", json=webhook_listing())
    expect_webhook_create(
        mocked,
        RECEIVER,
        0,
        "session.queued",
        status=400,
        json={"errors": {"url": ["Enter a valid URL."]}},
    )
    with pytest.raises(PermanentVendorError) as info:
        services.register_receiver(account, RECEIVER)
    assert info.value.field_errors == {"url": ["Enter a valid URL."]}
    assert not SurflyWebhook.objects.exists()


def test_register_receiver_reports_a_failure_after_progress(account, mocked):
    on(mocked, "GET", "webhooks/", json=webhook_listing())
    expect_webhook_create(mocked, RECEIVER, 11, "session.queued")
    expect_webhook_create(
        mocked, RECEIVER, 0, "session.started", status=400, json={"detail": "Limit"}
    )
    done = services.register_receiver(account, RECEIVER)
    assert done.created == ["session.queued"]
    assert done.failed == "session.started"
    assert isinstance(done.error, PermanentVendorError)
    assert list(SurflyWebhook.objects.values_list("category", flat=True)) == [
        "session.queued"
    ]


# --- reseller clients -------------------------------------------------------------
CREATED_CLIENT = {
    "company_name": "Globex",
    "client_key": "ck-globex",
    "rest_key": "rk-globex-very-secret-0001",
    "widget_key": "wk-globex",
}


def test_create_client_with_workspace(account, reseller, mocked):
    on(
        mocked,
        "POST",
        "clients/all/",
        json=CREATED_CLIENT,
        body={
            "company_name": "Globex",
            "domains": "globex.test,*.globex.test",
            "agent_email": "boss@globex.test",
            "agent_name": "Boss",
        },
    )
    created = services.create_client(
        account,
        company_name="Globex",
        domains=["globex.test", "*.globex.test"],
        agent_email="boss@globex.test",
        agent_name="Boss",
        create_workspace=True,
        parent=reseller,
    )
    row = created.client
    assert (row.external_id, row.company_name, row.widget_key) == (
        "ck-globex",
        "Globex",
        "wk-globex",
    )
    assert "rest_key" not in row.raw and "rk-globex" not in str(row.raw)
    # Surfly's create answer has no domains: the ones it accepted are kept.
    assert row.domains == ["globex.test", "*.globex.test"]
    ws = created.workspace
    assert ws.kind == WorkspaceKind.CLIENT and ws.parent == reseller
    sub = VendorAccount.objects.get(workspace=ws)
    assert sub.vendor == "surfly" and sub.base_url == BASE
    fresh = VendorAccount.objects.get(pk=sub.pk)
    assert fresh.credentials == {"api_key": "rk-globex-very-secret-0001"}
    assert "rk-globex" not in fresh.credentials_encrypted


def test_create_client_sends_plan_and_password_and_leaves_blanks_out(
    account, reseller, mocked
):
    on(
        mocked,
        "POST",
        "clients/all/",
        json=CREATED_CLIENT,
        body={
            "company_name": "Globex",
            "company_plan_name": "client_basic",
            "agent_email": "boss@globex.test",
            "agent_name": "Boss",
            "agent_password": "Pass@123-long",
        },  # no "domains": "" (Surfly's default is any domain)
    )
    created = services.create_client(
        account,
        company_name="Globex",
        domains=[],
        agent_email="boss@globex.test",
        agent_name="Boss",
        company_plan_name="client_basic",
        agent_password="Pass@123-long",
    )
    assert created.client.plan == "client_basic"
    assert created.client.domains == ["*"]
    assert "Pass@123" not in str(created.client.raw)


def create_globex(mocked, account, reseller, *, create_workspace: bool):
    on(mocked, "POST", "clients/all/", json=CREATED_CLIENT)
    return services.create_client(
        account,
        company_name="Globex",
        domains=["*"],
        agent_email="b@globex.test",
        agent_name="Boss",
        create_workspace=create_workspace,
        parent=reseller,
    )


def test_create_client_without_workspace(account, reseller, mocked):
    created = create_globex(mocked, account, reseller, create_workspace=False)
    assert created.workspace is None
    assert not Workspace.objects.filter(kind=WorkspaceKind.CLIENT).exists()


def test_create_client_slug_is_unique(account, reseller, mocked):
    Workspace.objects.create(name="Globex", slug="globex")
    created = create_globex(mocked, account, reseller, create_workspace=True)
    assert created.workspace.slug == "globex-2"


def test_rename_client(account, client_row, mocked):
    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        body={"company_name": "Globex Corp"},
        json={
            "agent_count": 3,
            "company_name": "Globex Corp",
            "client_key": "ck-globex",
        },
    )
    services.rename_client(account, client_row, "Globex Corp")
    client_row.refresh_from_db()
    assert (client_row.company_name, client_row.agent_count, client_row.plan) == (
        "Globex Corp",
        3,
        "pro",
    )


def test_rename_stores_under_the_client_acted_on(account, client_row, mocked):
    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        body={"company_name": "Globex Corp"},
        # An answer naming the client differently (e.g. another key format).
        json={"company_name": "Globex Corp", "client_key": "CK-GLOBEX-2"},
    )
    services.rename_client(account, client_row, "Globex Corp")
    assert list(
        SurflyClient.objects.filter(account=account).values_list(
            "external_id", "company_name"
        )
    ) == [("ck-globex", "Globex Corp")]


def test_set_client_domains(account, client_row, mocked):
    on(
        mocked,
        "POST",
        "clients/all/ck-globex/",
        body={"domains": "a.test,b.test"},
        json={"domains": "a.test,b.test"},
    )
    services.set_client_domains(account, client_row, ["a.test", "b.test"])
    client_row.refresh_from_db()
    assert client_row.domains == ["a.test", "b.test"]
    assert client_row.company_name == "Globex"


def test_client_sessions_uses_clientkey_query(account, client_row, mocked):
    expect_client_sessions(mocked, "ck-globex", "x1")
    sessions = services.client_sessions(account, client_row)
    assert [s.session_id for s in sessions] == ["x1"]
    assert not CobrowseSession.objects.exists()  # shown, never stored


def test_client_sessions_all_sends_no_active_filter(account, client_row, mocked):
    expect_client_sessions(mocked, "ck-globex", "x2", active_only=False)
    sessions = services.client_sessions(account, client_row, active_only=False)
    assert [s.session_id for s in sessions] == ["x2"]
