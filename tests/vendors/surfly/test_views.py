"""Surfly pages: roles, empty states, filters and keyset pages, CSV, and the write
actions (Surfly faked with `responses` at the spec's exact paths)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from responses import matchers

from cobrowse_portal.core.choices import WorkspaceKind
from cobrowse_portal.core.models import VendorAccount, Workspace
from vendors.surfly.models import (
    CobrowseSession,
    SurflyAgent,
    SurflyClient,
    SurflyCompanyOptions,
    SurflyServer,
    SurflyWebhook,
)

from .fake_api import (
    AGENT,
    BASE,
    KEY,
    expect_client_sessions,
    expect_webhook_create,
    make_account,
    on,
    webhook,
    webhook_listing,
)

HX = {"HTTP_HX_REQUEST": "true"}

MANAGER_PAGES = [
    "history",
    "agents",
    "options",
    "webhooks",
    "servers",
    "clients",
    "agent_add",
    "webhook_add",
    "client_add",
]
AGENT_PAGES = ["live", "session_start"]


def url(name, account, *args, query=""):
    return reverse(f"surfly:{name}", args=[account.pk, *args]) + query


def make_session(account, n, **kw) -> CobrowseSession:
    defaults = {
        "external_id": f"sess-{n}",
        "api_id": f"id-{n}",
        "formatted_id": f"100-000-{n:03d}",
        "start_time": timezone.now() - timedelta(hours=n),
        "end_time": timezone.now() - timedelta(hours=n) + timedelta(seconds=60 * n),
        "duration": 60 * n,
        "is_active": False,
        "tags": [],
    }
    defaults.update(kw)
    return CobrowseSession.objects.create(account=account, **defaults)


def live_session(account, n=1, **kw) -> CobrowseSession:
    return make_session(account, n, is_active=True, end_time=None, duration=None, **kw)


@pytest.fixture
def agent(agent) -> SurflyAgent:
    """The shared agent, last seen two hours ago (so pages show a login time)."""
    agent.last_login = timezone.now() - timedelta(hours=2)
    agent.save(update_fields=["last_login"])
    return agent


# --- roles and scoping ------------------------------------------------------------
@pytest.mark.parametrize("name", AGENT_PAGES)
def test_agent_pages_open_to_every_role(personas, login, account, name):
    for role in ("agent", "manager", "admin"):
        response = login(personas[role]).get(url(name, account))
        assert response.status_code == 200, (role, name)


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_manager_pages_refuse_agents(personas, login, account, name):
    assert login(personas["agent"]).get(url(name, account)).status_code == 403
    assert login(personas["manager"]).get(url(name, account)).status_code == 200
    assert login(personas["admin"]).get(url(name, account)).status_code == 200


def test_session_pages_per_role(personas, login, account, agent):
    session = live_session(account)
    page = url("session_detail", account, session.pk)
    assert login(personas["agent"]).get(page).status_code == 200
    assert (
        login(personas["agent"]).get(url("agent_edit", account, agent.pk)).status_code
        == 403
    )


def test_another_workspace_cannot_see_the_account(personas, login, account):
    client = login(personas["outsider"])
    for name in AGENT_PAGES + MANAGER_PAGES:
        assert client.get(url(name, account)).status_code == 404, name


def test_non_surfly_account_is_404(personas, login, reseller):
    other = make_account(reseller, name="Not Surfly")
    # Only Surfly is registered here, so relabel the row without its signals.
    VendorAccount.objects.filter(pk=other.pk).update(vendor="upscope")
    assert login(personas["admin"]).get(url("agents", other)).status_code == 404


def test_clients_only_for_reseller_workspaces(personas, login, other_workspace):
    account = make_account(other_workspace)
    client = login(personas["outsider"])  # admin of a standalone workspace
    assert client.get(url("agents", account)).status_code == 200
    assert client.get(url("clients", account)).status_code == 404
    assert client.get(url("client_add", account)).status_code == 404


def test_anonymous_is_sent_to_login(client, account):
    response = client.get(url("live", account))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_breadcrumbs(personas, login, account):
    body = login(personas["manager"]).get(url("agents", account)).content.decode()
    assert "Surfly · Main" in body and "› Agents" in body


def test_write_actions_refuse_get(personas, login, account, agent):
    client = login(personas["admin"])
    for name in ("agent_delete", "agent_toggle", "agent_token"):
        assert client.get(url(name, account, agent.pk)).status_code == 405


# --- empty states -----------------------------------------------------------------
@pytest.mark.parametrize(
    "name,text",
    [
        ("agents", "No agents synced yet"),
        ("history", "No sessions synced yet"),
        ("options", "No company options synced yet"),
        ("servers", "No servers synced yet"),
        ("webhooks", "No webhooks synced yet"),
        ("clients", "No clients synced yet"),
    ],
)
def test_empty_states_say_what_to_do(personas, login, account, name, text):
    body = login(personas["manager"]).get(url(name, account)).content.decode()
    assert text in body
    if name in ("agents", "history", "options", "servers"):
        assert reverse("core:account_detail", args=[account.pk]) in body


def test_live_empty_state_offers_start(personas, login, account):
    body = login(personas["agent"]).get(url("live", account)).content.decode()
    assert "No live sessions right now" in body
    assert url("session_start", account) in body


# --- agents page ------------------------------------------------------------------
@pytest.fixture
def agents(account):
    rows = [
        ("1", "Alice", "alice@example.com", "agent", True, True),
        ("2", "Bob", "bob@example.com", "manager", False, False),
        ("3", "Carol", "carol@corp.test", "admin", True, False),
    ]
    return [
        SurflyAgent.objects.create(
            account=account,
            external_id=i,
            name=n,
            email=e,
            role=r,
            available=a,
            is_free=f,
        )
        for i, n, e, r, a, f in rows
    ]


@pytest.mark.parametrize(
    "query,names",
    [
        ("", {"Alice", "Bob", "Carol"}),
        ("?role=manager", {"Bob"}),
        ("?available=true", {"Alice", "Carol"}),
        ("?free=true", {"Alice"}),
        ("?free=false&available=true", {"Carol"}),
        ("?q=corp.test", {"Carol"}),
        ("?q=bo", {"Bob"}),
    ],
)
def test_agent_filters(personas, login, account, agents, query, names):
    body = login(personas["manager"]).get(url("agents", account, query=query)).content
    shown = {n for n in ("Alice", "Bob", "Carol") if f"<td>{n}</td>".encode() in body}
    assert shown == names


def test_agents_filter_fragment_for_htmx(personas, login, account, agents):
    response = login(personas["manager"]).get(
        url("agents", account, query="?q=zzz"), **HX
    )
    body = response.content.decode()
    assert "<html" not in body and "No agent matches these filters" in body


def test_removed_agents_are_hidden(personas, login, account, agents):
    SurflyAgent.objects.filter(name="Bob").update(removed_at=timezone.now())
    body = login(personas["manager"]).get(url("agents", account)).content
    assert b"<td>Bob</td>" not in body


# --- history ----------------------------------------------------------------------
def test_history_keyset_pages(personas, login, account):
    for n in range(1, 121):
        make_session(account, n)
    client = login(personas["manager"])
    first = client.get(url("history", account))
    page = first.context["page"]
    assert len(page.rows) == 50 and page.next_url and page.is_first
    seen = {s.pk for s in page.rows}
    second = client.get(url("history", account, query=page.next_url), **HX)
    assert "<html" not in second.content.decode()
    page2 = second.context["page"]
    assert len(page2.rows) == 50 and not seen & {s.pk for s in page2.rows}
    third = client.get(url("history", account, query=page2.next_url)).context["page"]
    assert len(third.rows) == 20 and third.next_url is None
    starts = [s.start_time for s in page.rows + page2.rows + third.rows]
    assert starts == sorted(starts, reverse=True)


def test_history_pager_keeps_filters(personas, login, account):
    for n in range(1, 61):
        make_session(account, n, tags=["vip"])
    page = (
        login(personas["manager"])
        .get(url("history", account, query="?tags=vip"))
        .context["page"]
    )
    assert "tags=vip" in page.next_url and "after=" in page.next_url


@pytest.fixture
def history_rows(account, agent):
    return {
        "a": make_session(
            account, 1, tags=["billing", "vip"], agent_id="42", pin="1111"
        ),
        "b": make_session(account, 2, tags=["billing"], duration=30),
        "c": make_session(account, 30, tags=["sales"], agent_id="42", duration=5000),
        "d": live_session(account, 3),
    }


@pytest.mark.parametrize(
    "query,expected",
    [
        ("?tags=billing", {"a", "b"}),
        ("?tags=billing,vip", {"a"}),
        ("?tags=bill", set()),
        ("?tags=null", {"d"}),
        ("?agent=42", {"a", "c"}),
        ("?agent=null", {"b", "d"}),
        ("?pin=1111", {"a"}),
        ("?active_session=true", {"d"}),
        ("?active_session=false", {"a", "b", "c"}),
        ("?min_duration=100", {"c"}),
        ("?max_duration=60", {"a", "b"}),
        ("?min_duration=31&max_duration=4000", {"a"}),
    ],
)
def test_history_filters(personas, login, account, history_rows, query, expected):
    rows = (
        login(personas["manager"])
        .get(url("history", account, query=query))
        .context["page"]
        .rows
    )
    names = {k for k, v in history_rows.items() if v.pk in {r.pk for r in rows}}
    assert names == expected


def test_history_date_range(personas, login, account, history_rows):
    today = timezone.localdate()
    old = (timezone.localtime() - timedelta(hours=30)).date()
    client = login(personas["manager"])
    rows = (
        client.get(url("history", account, query=f"?until={old}")).context["page"].rows
    )
    assert {r.pk for r in rows} == {history_rows["c"].pk}
    since = (
        client.get(url("history", account, query=f"?since={today}"))
        .context["page"]
        .rows
    )
    assert history_rows["c"].pk not in {r.pk for r in since}


def test_history_csv_export(personas, login, account, history_rows):
    response = login(personas["manager"]).get(
        url("history", account, query="?tags=billing&format=csv")
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["session_id", "id", "formatted_id"]
    ids = {r[0] for r in rows[1:]}
    assert ids == {"sess-1", "sess-2"}
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["sess-1"][rows[0].index("agent")] == "Alice"
    assert by_id["sess-1"][rows[0].index("tags")] == "billing, vip"
    assert by_id["sess-2"][rows[0].index("duration_s")] == "30"


def test_history_csv_url_name_and_formula_guard(personas, login, account):
    make_session(account, 1, tags=["=HYPERLINK(1)"])
    response = login(personas["manager"]).get(url("history_csv", account))
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


def test_history_csv_refused_to_agents(personas, login, account):
    response = login(personas["agent"]).get(
        url("history", account, query="?format=csv")
    )
    assert response.status_code == 403


# --- garbage input ----------------------------------------------------------------
GARBAGE_QUERIES = (
    "?after=@@@&min_duration=abc&max_duration=-5&since=notadate&until=2024-99-99"
    "&active_session=maybe&agent=%00zz&available=x&free=y&role=boss&q=%27%22%3C"
    "&tags=%22%5B&pin=" + "9" * 40 + "&started=abc",
    "?since=0001-01-01&until=9999-12-31&min_duration=" + "9" * 30 + "&q=%00&pin=%00",
)


GARBAGE = GARBAGE_QUERIES[0]


@pytest.mark.parametrize("name", AGENT_PAGES + MANAGER_PAGES)
def test_no_page_answers_500_to_garbage(personas, login, account, agent, name):
    make_session(account, 1)
    client = login(personas["admin"])
    for query in GARBAGE_QUERIES:
        for headers in ({}, HX):
            response = client.get(url(name, account, query=query), **headers)
            assert response.status_code == 200, query


def test_forged_cursor_starts_over(personas, login, account):
    import base64

    make_session(account, 1)
    forged = base64.urlsafe_b64encode(b"not-a-time|5").decode().rstrip("=")
    response = login(personas["manager"]).get(
        url("history", account, query=f"?after={forged}")
    )
    assert response.status_code == 200
    assert len(response.context["page"].rows) == 1


def test_history_shows_ignored_filter_errors(personas, login, account):
    make_session(account, 1)
    body = (
        login(personas["manager"])
        .get(url("history", account, query="?min_duration=abc"))
        .content.decode()
    )
    assert "(ignored)" in body


def test_garbage_csv(personas, login, account):
    make_session(account, 1)
    response = login(personas["manager"]).get(
        url("history", account, query=GARBAGE + "&format=csv")
    )
    assert response.status_code == 200
    # The one well-formed filter (tags='"[') still applies; the rest are ignored.
    assert b"".join(response.streaming_content).decode().startswith("session_id,")


def test_unknown_objects_are_404(personas, login, account):
    client = login(personas["admin"])
    assert client.get(url("session_detail", account, 999)).status_code == 404
    assert client.get(url("agent_edit", account, 999)).status_code == 404
    assert client.get(url("webhook_edit", account, 999)).status_code == 404
    assert client.get(url("client_edit", account, 999)).status_code == 404


# --- agent writes -----------------------------------------------------------------
AGENT_FORM = {
    "username": "Dora",
    "agent_email": "dora@example.com",
    "password": "pw-123456",
    "role": "agent",
}


def test_add_agent(personas, login, account, mocked):
    on(mocked, "POST", "agents/", json={"agent_id": "77"}, body={**AGENT_FORM})
    on(
        mocked,
        "GET",
        "agents/77/",
        json={
            "agent_id": 77,
            "agent_name": "Dora",
            "agent_email": "dora@example.com",
            "role": "agent",
            "available": True,
        },
    )
    client = login(personas["manager"])
    response = client.post(url("agent_add", account), AGENT_FORM)
    assert response.status_code == 302
    assert SurflyAgent.objects.get(account=account, external_id="77").name == "Dora"
    body = client.get(response["Location"]).content.decode()
    assert "Dora" in body and "created at Surfly" in body


# --- a vendor error on any write form ---------------------------------------------
WEBHOOK_FORM = {"url": "https://r.test/h", "category": "session.ended", "enabled": "on"}
CLIENT_FORM = {
    "company_name": "Globex",
    "domains": "globex.test, *.globex.test",
    "agent_email": "boss@globex.test",
    "agent_name": "Boss",
    "create_workspace": "on",
}


@pytest.mark.parametrize(
    "name,path,errors,data,field,message,summary,stored",
    [
        pytest.param(
            "agent_add",
            "agents/",
            {"agent_email": ["Enter a valid email"]},
            AGENT_FORM,
            "agent_email",
            "Enter a valid email",
            "Surfly did not accept this; see the marked fields.",
            lambda: SurflyAgent.objects.exists(),
            id="agent",
        ),
        pytest.param(
            "client_add",
            "clients/all/",
            {"agent_email": ["Enter a valid email"]},
            CLIENT_FORM,
            "agent_email",
            "Enter a valid email",
            "Surfly did not accept this; see the marked fields.",
            lambda: Workspace.objects.filter(kind=WorkspaceKind.CLIENT).exists(),
            id="client",
        ),
        pytest.param(
            "webhook_add",
            "webhooks/",
            {"url": ["Enter a valid URL."], "other": ["Nope"]},
            WEBHOOK_FORM,
            "url",
            "Enter a valid URL.",
            "Surfly refused: other: Nope",
            lambda: SurflyWebhook.objects.exists(),
            id="webhook",
        ),
    ],
)
def test_surfly_400_shown_next_to_the_field(
    personas,
    login,
    account,
    mocked,
    name,
    path,
    errors,
    data,
    field,
    message,
    summary,
    stored,
):
    on(mocked, "POST", path, status=400, json={"errors": errors})
    response = login(personas["manager"]).post(url(name, account), data)
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors[field] == [message]
    assert summary in str(form.non_field_errors())
    body = response.content.decode()
    field_html = body.split(f'id="id_{field}"')[1].split('<div class="field')[0]
    assert message in field_html
    assert not stored()


@pytest.mark.parametrize(
    "role,name,obj,method,path,status,data,kept,stored",
    [
        pytest.param(
            "manager",
            "agent_add",
            None,
            "POST",
            "agents/",
            503,
            AGENT_FORM,
            ['value="Dora"', 'value="dora@example.com"'],
            lambda: SurflyAgent.objects.exists(),
            id="agent_add",
        ),
        pytest.param(
            "agent",
            "session_start",
            None,
            "POST",
            "sessions/",
            502,
            {"url": "https://shop.example.com/", "tags": "keep, me"},
            ['value="keep, me"'],
            lambda: CobrowseSession.objects.exists(),
            id="session_start",
        ),
    ],
)
def test_transient_failure_keeps_the_input(
    request,
    personas,
    login,
    account,
    mocked,
    role,
    name,
    obj,
    method,
    path,
    status,
    data,
    kept,
    stored,
):
    args = [request.getfixturevalue(obj).pk] if obj else []
    on(mocked, method, path, status=status)
    response = login(personas[role]).post(url(name, account, *args), data)
    assert response.status_code == 503
    body = response.content.decode()
    assert "Surfly is not answering right now; your input is kept" in body
    assert all(value in body for value in kept), kept
    assert not stored()


def test_invalid_agent_form_makes_no_call(personas, login, account, mocked):
    response = login(personas["manager"]).post(
        url("agent_add", account), {**AGENT_FORM, "agent_email": "nope", "role": "boss"}
    )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"agent_email", "role"}


def test_edit_agent(personas, login, account, agent, mocked):
    on(
        mocked,
        "PUT",
        "agents/42/",
        body={"username": "Alicia", "available": False, "role": "manager"},
        json={**AGENT, "agent_name": "Alicia", "role": "manager", "available": False},
    )
    response = login(personas["manager"]).post(
        url("agent_edit", account, agent.pk), {"username": "Alicia", "role": "manager"}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.name, agent.role, agent.available) == ("Alicia", "manager", False)


def test_toggle_availability_returns_the_row(personas, login, account, agent, mocked):
    on(
        mocked,
        "PUT",
        "agents/42/",
        body={"username": "Alice", "available": False},
        json={**AGENT, "available": False},
    )
    response = login(personas["manager"]).post(
        url("agent_toggle", account, agent.pk), **HX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith(f'<tr id="agent-{agent.pk}"')
    assert "unavailable" in body and "Set available" in body


def test_toggle_failure_shows_in_the_row(personas, login, account, agent, mocked):
    on(
        mocked,
        "PUT",
        "agents/42/",
        status=400,
        json={"errors": {"username": ["Taken"]}},
    )
    response = login(personas["manager"]).post(
        url("agent_toggle", account, agent.pk), **HX
    )
    assert response.status_code == 422
    assert "Taken" in response.content.decode()
    agent.refresh_from_db()
    assert agent.available is True


def test_delete_agent(personas, login, account, agent, mocked):
    on(mocked, "DELETE", "agents/42/", json={"response": "Agent was deleted"})
    client = login(personas["manager"])
    response = client.post(url("agent_delete", account, agent.pk))
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.removed_at is not None
    assert b"<td>Alice</td>" not in client.get(url("agents", account)).content


def test_delete_button_asks_for_confirmation(personas, login, account, agent):
    body = login(personas["manager"]).get(url("agents", account)).content.decode()
    assert 'data-confirm="Delete agent Alice at Surfly?"' in body


def test_delete_agent_transient_keeps_row(personas, login, account, agent, mocked):
    on(mocked, "DELETE", "agents/42/", status=503)
    client = login(personas["manager"])
    response = client.post(url("agent_delete", account, agent.pk), follow=True)
    assert "Surfly is not answering right now" in response.content.decode()
    agent.refresh_from_db()
    assert agent.removed_at is None


def test_access_token_shown_once(personas, login, account, agent, mocked):
    on(
        mocked,
        "POST",
        "agents/access-token/",
        body={"agent_id": 42},  # an integer, as the spec says
        json={
            "user_created": False,
            "agent_token": "tok-zzz-987654",
            "expires_in": 86400,
            "agent_id": 42,
            "agent_role": "agent",
        },
    )
    response = login(personas["manager"]).post(
        url("agent_token", account, agent.pk), **HX
    )
    body = response.content.decode()
    assert '<div class="secret-once mono" id="agent-token">tok-zzz-987654</div>' in body
    assert "Valid 24 h, until" in body
    assert "no-store" in response["Cache-Control"]
    assert "<html" not in body


# --- sessions ---------------------------------------------------------------------
CREATED = {
    "id": "n1",
    "session_id": "n1x",
    "formatted_id": "555-555-555",
    "agent_id": "42",
    "follower_link": "https://surfly.test/555-555-555",
    "leader_link": "https://surfly.test/leader/n1",
    "start_time": "2024-05-01T10:00:00Z",
    "end_time": None,
    "duration": None,
    "pin": "4321",
    "start_url": "https://shop.example.com/",
    "meta": "",
    "tags": ["billing", "vip"],
    "options": {},
}


def test_start_session_shows_leader_link_warning(
    personas, login, account, agent, mocked
):
    SurflyCompanyOptions.objects.create(
        account=account,
        external_id="company",
        options={"videochat": True, "start_muted": False},
    )
    on(
        mocked,
        "POST",
        "sessions/",
        json=CREATED,
        body={
            "url": "https://shop.example.com/",
            "tags": ["billing", "vip"],
            "agent_id": 42,  # an integer, as the spec says
            "skip_queue": True,
            "start_muted": True,
            "white_label": True,
        },
    )
    client = login(personas["agent"])
    form = client.get(url("session_start", account)).content.decode()
    assert (
        'name="opt_videochat"' in form
        and "checked" in form.split('name="opt_videochat"')[1].split(">")[0]
    )
    response = client.post(
        url("session_start", account),
        {
            "url": "https://shop.example.com/",
            "tags": "billing, vip, billing",
            "agent": "42",
            "skip_queue": "on",
            "opt_videochat": "on",
            "opt_start_muted": "on",
            "other_options": '{"white_label": true}',
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"])
    body = page.content.decode()
    session = CobrowseSession.objects.get(account=account, external_id="n1x")
    assert "expires if not opened within 2 minutes" in body
    assert "https://surfly.test/leader/n1" in body
    assert "https://surfly.test/555-555-555" in body
    assert url("session_detail", account, session.pk) in body


def test_start_session_rejects_bad_json_without_calling(
    personas, login, account, mocked
):
    client = login(personas["agent"])
    for text, msg in [
        ("{nope", "Not valid JSON"),
        ("[1]", "Write a JSON object"),
        ('{"url": "x"}', "Use the fields above"),
    ]:
        response = client.post(
            url("session_start", account),
            {"url": "https://shop.example.com/", "other_options": text},
        )
        assert response.status_code == 422
        assert msg in response.content.decode()
        assert "shop.example.com" in response.content.decode()


def test_live_board_pages_a_busy_account(personas, login, account):
    """A page of 100 live sessions at a time (keyset, newest first): a busy account's
    board stays one fast page, and the 5 s poll keeps the page being read."""
    from vendors.surfly.views.sessions import LIVE_PAGE

    for n in range(1, LIVE_PAGE + 21):
        live_session(account, n)
    client = login(personas["agent"])
    first = client.get(url("live", account), **HX).content.decode()
    assert first.count("btn small danger") == LIVE_PAGE
    assert "100-000-001" in first and f"100-000-{LIVE_PAGE + 1:03d}" not in first
    older = re.search(r'href="(\?after=[^"]+)"[^>]*>Older', first).group(1)
    second = client.get(url("live", account) + older.replace("&amp;", "&"), **HX)
    html = second.content.decode()
    assert html.count("btn small danger") == 20
    assert f"100-000-{LIVE_PAGE + 20:03d}" in html and '100-000-001"' not in html
    assert f'hx-get="{url("live", account)}?after=' in html  # the poll stays here
    assert "« Newest" in html


def test_live_sessions_table(personas, login, account, agent):
    live = live_session(
        account,
        agent_id="42",
        pin="9876",
        tags=["vip"],
        follower_link="https://surfly.test/f/1",
    )
    make_session(account, 2)  # ended: not live
    client = login(personas["agent"])
    body = client.get(url("live", account)).content.decode()
    assert 'hx-trigger="every 5s"' in body
    assert "9876" in body and "Alice" in body and "https://surfly.test/f/1" in body
    assert url("session_detail", account, live.pk) in body
    assert url("session_end", account, live.pk) in body and "data-confirm" in body
    assert "sess-2" not in body and "100-000-002" not in body
    fragment = client.get(url("live", account), **HX).content.decode()
    assert "<html" not in fragment and fragment.strip().startswith(
        '<div id="live-table"'
    )


@pytest.mark.parametrize(
    "next_page,lands_on",
    [
        pytest.param("live", "live", id="back-to-live"),
        pytest.param("https://evil.test/", "session_detail", id="offsite-ignored"),
    ],
)
def test_end_session_goes_back_to_a_same_site_next(
    personas, login, account, mocked, next_page, lands_on
):
    session = live_session(account)
    on(
        mocked,
        "POST",
        "sessions/id-1/end/",
        json={
            "id": "id-1",
            "session_id": "sess-1",
            "start_time": "2024-05-01T10:00:00Z",
            "end_time": "2024-05-01T10:10:00Z",
            "duration": 600,
        },
    )
    next_url = url(next_page, account) if next_page == "live" else next_page
    response = login(personas["agent"]).post(
        url("session_end", account, session.pk), {"next": next_url}
    )
    args = [session.pk] if lands_on == "session_detail" else []
    assert response.status_code == 302
    assert response["Location"] == url(lands_on, account, *args)
    session.refresh_from_db()
    assert not session.is_active and session.duration == 600


def test_session_detail(personas, login, account, agent):
    session = live_session(
        account,
        agent_id="42",
        meta={"customer": {"id": "c-9"}},
        options={"videochat": True, "language": "en"},
        tags=["vip"],
        follower_link="https://surfly.test/f/1",
    )
    body = (
        login(personas["agent"])
        .get(url("session_detail", account, session.pk))
        .content.decode()
    )
    assert "&quot;customer&quot;: {" in body  # pretty JSON
    assert '<td class="mono">videochat</td><td class="mono">true</td>' in body
    assert "Take screenshot" in body and "End session" in body
    assert "Alice" in body and "vip" in body


def test_screenshot_action(personas, login, account, mocked):
    session = live_session(account)
    mocked.add(
        "POST",
        f"{BASE}/sessions/id-1/screenshots/create/",
        match=[matchers.query_param_matcher({"api_key": KEY})],
        body="GENERATION-STARTED",
        content_type="text/plain",
    )
    on(
        mocked,
        "GET",
        "sessions/id-1/screenshots/latest/",
        json={"url": "https://s3.test/shot.webp"},
    )
    response = login(personas["agent"]).post(
        url("session_screenshot", account, session.pk), **HX
    )
    body = response.content.decode()
    assert '<img class="screenshot" src="https://s3.test/shot.webp"' in body
    assert "<html" not in body


def test_screenshot_transient(personas, login, account, mocked):
    session = live_session(account)
    on(mocked, "POST", "sessions/id-1/screenshots/create/", status=503)
    response = login(personas["agent"]).post(
        url("session_screenshot", account, session.pk), **HX
    )
    assert response.status_code == 200
    assert "press the button again" in response.content.decode()


# --- company options --------------------------------------------------------------
@pytest.fixture
def stored_options(account):
    return SurflyCompanyOptions.objects.create(
        account=account,
        external_id="company",
        options={
            "videochat": True,
            "theme_font_size": 14,
            "language": "en",
            "cookie_transfer_urls": [],
            "bad key!": 1,
        },
    )


def test_options_form_is_generated(personas, login, account, stored_options):
    body = login(personas["manager"]).get(url("options", account)).content.decode()
    assert 'type="checkbox" name="videochat"' in body
    assert 'type="number" name="theme_font_size"' in body
    assert 'type="text" name="language"' in body
    assert "<textarea" in body and 'name="cookie_transfer_urls"' in body
    assert "bad key!" in body and 'name="bad key!"' not in body
    assert "Reset to defaults" in body


def test_options_patch_only_changed(personas, login, account, stored_options, mocked):
    on(
        mocked,
        "PATCH",
        "company/options/",
        body={"videochat": False, "language": "de"},
        json={
            "videochat": False,
            "theme_font_size": 14,
            "language": "de",
            "cookie_transfer_urls": [],
            "bad key!": 1,
        },
    )
    response = login(personas["manager"]).post(
        url("options", account),
        {"theme_font_size": "14", "language": "de", "cookie_transfer_urls": "[]"},
    )
    assert response.status_code == 302
    stored_options.refresh_from_db()
    assert stored_options.options["language"] == "de"
    assert stored_options.options["videochat"] is False


def test_options_nothing_changed_sends_nothing(
    personas, login, account, stored_options, mocked
):
    response = login(personas["manager"]).post(
        url("options", account),
        {
            "videochat": "on",
            "theme_font_size": "14",
            "language": "en",
            "cookie_transfer_urls": "[]",
        },
        follow=True,
    )
    assert "Nothing changed" in response.content.decode()


def test_options_bad_values_are_shown(personas, login, account, stored_options, mocked):
    response = login(personas["manager"]).post(
        url("options", account),
        {"theme_font_size": "big", "language": "en", "cookie_transfer_urls": "{}"},
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "theme_font_size" in errors and "cookie_transfer_urls" in errors


def test_options_reset(personas, login, account, stored_options, mocked):
    on(mocked, "DELETE", "company/options/")
    on(mocked, "GET", "company/options/", json={"videochat": False})
    response = login(personas["manager"]).post(url("options_reset", account))
    assert response.status_code == 302
    stored_options.refresh_from_db()
    assert stored_options.options == {"videochat": False}


# --- webhooks ---------------------------------------------------------------------
def make_hook(account, external_id, url, category, **kw) -> SurflyWebhook:
    return SurflyWebhook.objects.create(
        account=account, external_id=external_id, url=url, category=category, **kw
    )


def test_webhook_banner_when_surfly_switched_one_off(personas, login, account):
    make_hook(account, "1", "https://a.test/", "session.started", enabled=False)
    make_hook(
        account,
        "2",
        "https://b.test/",
        "session.ended",
        enabled=False,
        disabled_by_portal=True,
    )
    make_hook(account, "3", "https://c.test/", "session.queued", enabled=True)
    body = login(personas["manager"]).get(url("webhooks", account)).content.decode()
    assert '<div class="banner"' in body
    assert "Surfly switched off 1 webhook after failed deliveries" in body
    assert "switched off by Surfly" in body


def test_no_banner_when_portal_disabled_it(personas, login, account):
    make_hook(
        account,
        "2",
        "https://b.test/",
        "session.ended",
        enabled=False,
        disabled_by_portal=True,
    )
    body = login(personas["manager"]).get(url("webhooks", account)).content.decode()
    assert "Surfly switched off" not in body


def test_webhook_create_edit_delete(personas, login, account, mocked):
    hook = {
        "id": 9,
        "url": "https://r.test/h",
        "category": "session.ended",
        "enabled": True,
        "ssl_verification": False,
        "company_id": 1,
    }
    on(
        mocked,
        "POST",
        "webhooks/",
        status=201,
        json=hook,
        body={
            "url": "https://r.test/h",
            "category": "session.ended",
            "enabled": True,
            "ssl_verification": False,
        },
    )
    client = login(personas["manager"])
    response = client.post(
        url("webhook_add", account),
        {"url": "https://r.test/h", "category": "session.ended", "enabled": "on"},
    )
    assert response.status_code == 302
    row = SurflyWebhook.objects.get(account=account, external_id="9")
    assert not row.ssl_verification

    on(
        mocked,
        "PUT",
        "webhooks/9/",
        json={**hook, "enabled": False},
        body={
            "url": "https://r.test/h",
            "category": "session.ended",
            "enabled": False,
            "ssl_verification": False,
        },
    )
    response = client.post(
        url("webhook_edit", account, row.pk),
        {"url": "https://r.test/h", "category": "session.ended"},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert not row.enabled and row.disabled_by_portal

    on(mocked, "DELETE", "webhooks/9/", status=204)
    assert client.post(url("webhook_delete", account, row.pk)).status_code == 302
    row.refresh_from_db()
    assert row.removed_at is not None
    body = client.get(url("webhooks", account)).content.decode()
    assert '<td class="mono">https://r.test/h</td>' not in body


# --- registering this portal's receiver ----------------------------------------------
def receiver(account) -> str:
    return f"http://testserver/hooks/{account.pk}/{account.webhook_token}/"


def test_register_receiver_creates_one_webhook_per_category(
    personas, login, account, mocked
):
    on(
        mocked,
        "GET",
        "webhooks/",
        json=webhook_listing(webhook(5, receiver(account), "session.started")),
    )
    expect_webhook_create(mocked, receiver(account), 11, "session.queued")
    expect_webhook_create(mocked, receiver(account), 12, "session.ended")
    client = login(personas["admin"])
    response = client.post(url("webhooks_register", account))
    assert response.status_code == 302
    assert response["Location"] == url("webhooks", account)
    body = client.get(response["Location"]).content.decode()
    assert (
        "Registered this portal&#x27;s receiver at Surfly for session.queued, "
        "session.ended. Already registered: session.started." in body
    )
    hooks = SurflyWebhook.objects.filter(account=account, url=receiver(account))
    assert set(hooks.values_list("category", flat=True)) == {
        "session.queued",
        "session.started",
        "session.ended",
    }
    assert account.webhook_token in body  # the admin sees the receiver URL


def test_register_receiver_all_there_creates_nothing(personas, login, account, mocked):
    on(
        mocked,
        "GET",
        "webhooks/",
        json=webhook_listing(
            webhook(1, receiver(account), "session.queued"),
            webhook(2, receiver(account), "session.started"),
            webhook(3, receiver(account), "session.ended"),
        ),
    )
    response = login(personas["admin"]).post(
        url("webhooks_register", account), follow=True
    )
    body = response.content.decode()
    assert "Surfly already sends every event" in body and "nothing was changed" in body
    assert [c.request.method for c in mocked.calls] == ["GET"]


@pytest.mark.parametrize(
    "status,json,message",
    [
        pytest.param(
            503,
            None,
            "Surfly is not answering right now, so nothing was registered",
            id="transient",
        ),
        pytest.param(
            403,
            {"detail": "No API access"},
            "Surfly refused: No API access",
            id="refused",
        ),
    ],
)
def test_register_receiver_failure_is_reported(
    personas, login, account, mocked, status, json, message
):
    on(mocked, "GET", "webhooks/", status=status, json=json)
    response = login(personas["admin"]).post(
        url("webhooks_register", account), follow=True
    )
    assert message in response.content.decode()
    assert not SurflyWebhook.objects.exists()


def test_register_receiver_partial_failure_says_what_was_done(
    personas, login, account, mocked
):
    on(mocked, "GET", "webhooks/", json=webhook_listing())
    expect_webhook_create(mocked, receiver(account), 11, "session.queued")
    expect_webhook_create(
        mocked,
        receiver(account),
        0,
        "session.started",
        status=400,
        json={"detail": "Limit"},
    )
    body = (
        login(personas["admin"])
        .post(url("webhooks_register", account), follow=True)
        .content.decode()
    )
    assert "for session.queued, but not for session.started" in body
    assert "Surfly refused: Limit" in body
    assert SurflyWebhook.objects.get(account=account).category == "session.queued"


@pytest.mark.parametrize("role", ["manager", "agent"])
def test_register_receiver_is_for_admins_only(personas, login, account, mocked, role):
    # `mocked` has nothing registered: any Surfly call would fail the request.
    client = login(personas[role])
    assert client.post(url("webhooks_register", account)).status_code == 403
    assert client.get(url("webhooks_register", account)).status_code == 403
    assert not mocked.calls


def test_register_button_only_for_admins(personas, login, account):
    action = url("webhooks_register", account)
    admin_page = login(personas["admin"]).get(url("webhooks", account))
    assert action in admin_page.content.decode()
    manager_page = login(personas["manager"]).get(url("webhooks", account))
    assert action not in manager_page.content.decode()
    assert login(personas["admin"]).get(action).status_code == 405


def test_receiver_token_is_masked_for_managers(personas, login, account, mocked):
    token = account.webhook_token
    hook = make_hook(
        account, "5", receiver(account), "session.started", enabled=False
    )  # switched off by Surfly: also named in the banner
    make_hook(account, "6", "https://crm.test/hooks/", "session.ended")
    manager = login(personas["manager"])
    body = manager.get(url("webhooks", account)).content.decode()
    assert token not in body
    masked = f"http://testserver/hooks/{account.pk}/••••••••/"
    assert body.count(masked) == 2  # the table and the banner
    assert "https://crm.test/hooks/" in body
    edit = manager.get(url("webhook_edit", account, hook.pk)).content.decode()
    assert token not in edit and masked in edit
    assert 'name="url"' not in edit
    # Saving from the masked form keeps the stored URL at Surfly.
    on(
        mocked,
        "PUT",
        "webhooks/5/",
        body={
            "url": receiver(account),
            "category": "session.started",
            "enabled": True,
            "ssl_verification": True,
        },
        json=webhook(5, receiver(account), "session.started"),
    )
    saved = manager.post(
        url("webhook_edit", account, hook.pk),
        {
            "url": "https://attacker.test/",
            "category": "session.started",
            "enabled": "on",
            "ssl_verification": "on",
        },
        follow=True,
    )
    assert token not in saved.content.decode()
    hook.refresh_from_db()
    assert hook.url == receiver(account) and hook.enabled
    admin_page = login(personas["admin"]).get(url("webhooks", account))
    assert receiver(account) in admin_page.content.decode()  # admins see it whole
    manager = login(personas["manager"])
    on(mocked, "DELETE", "webhooks/5/", status=204)
    deleted = manager.post(url("webhook_delete", account, hook.pk), follow=True)
    page = deleted.content.decode()
    assert "deleted" in page and masked in page and token not in page


# --- servers ----------------------------------------------------------------------
def test_servers_page(personas, login, account):
    SurflyServer.objects.create(
        account=account,
        external_id="1",
        description="Germany, Nuremberg",
        region="eu",
        ips=["1.2.3.4", "5.6.7.8"],
    )
    body = login(personas["manager"]).get(url("servers", account)).content.decode()
    assert "Germany, Nuremberg" in body and "1.2.3.4, 5.6.7.8" in body


# --- reseller clients -------------------------------------------------------------
REST_KEY = "rk-globex-never-shown-0001"


def test_create_client_makes_workspace_and_hides_rest_key(
    personas, login, account, reseller, mocked
):
    on(
        mocked,
        "POST",
        "clients/all/",
        body={
            "company_name": "Globex",
            "domains": "globex.test,*.globex.test",
            "agent_email": "boss@globex.test",
            "agent_name": "Boss",
        },
        json={
            "company_name": "Globex",
            "client_key": "ck-1",
            "rest_key": REST_KEY,
            "widget_key": "wk-1",
        },
    )
    client = login(personas["manager"])
    bodies = []
    response = client.post(url("client_add", account), CLIENT_FORM)
    bodies.append(response.content)
    assert response.status_code == 302
    row = SurflyClient.objects.get(account=account, external_id="ck-1")
    ws = Workspace.objects.get(kind=WorkspaceKind.CLIENT, parent=reseller)
    sub = VendorAccount.objects.get(workspace=ws, vendor="surfly")
    assert VendorAccount.objects.get(pk=sub.pk).credentials == {"api_key": REST_KEY}
    detail = client.get(response["Location"])
    bodies.append(detail.content)
    assert (
        "client&#x27;s REST key stored encrypted" in detail.content.decode()
        or "REST key stored encrypted" in detail.content.decode()
    )
    for name in ("clients", "agents", "live"):
        bodies.append(client.get(url(name, account)).content)
    bodies.append(client.get(url("client_edit", account, row.pk)).content)
    assert all(REST_KEY.encode() not in b for b in bodies)
    assert REST_KEY not in str(row.raw)


def test_create_client_bad_domains(personas, login, account, mocked):
    response = login(personas["manager"]).post(
        url("client_add", account), {**CLIENT_FORM, "domains": "not a domain!"}
    )
    assert response.status_code == 422
    assert "Not a domain" in response.content.decode()


def test_clients_list(personas, login, account, client_row):
    body = login(personas["manager"]).get(url("clients", account)).content.decode()
    assert "Globex" in body and "pro" in body and "globex.test" in body


def test_client_rename_domains_delete(personas, login, account, client_row, mocked):
    client = login(personas["manager"])
    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        body={"company_name": "Globex Corp"},
        json={
            "agent_count": 2,
            "company_name": "Globex Corp",
            "client_key": "ck-globex",
        },
    )
    assert (
        client.post(
            url("client_edit", account, client_row.pk), {"company_name": "Globex Corp"}
        ).status_code
        == 302
    )
    on(
        mocked,
        "POST",
        "clients/all/ck-globex/",
        body={"domains": "*"},
        json={"domains": "*"},
    )
    assert (
        client.post(
            url("client_domains", account, client_row.pk), {"domains": "*"}
        ).status_code
        == 302
    )
    client_row.refresh_from_db()
    assert (client_row.company_name, client_row.domains) == ("Globex Corp", ["*"])
    on(
        mocked,
        "DELETE",
        "clients/all/ck-globex/",
        json={"response": "Client was deleted"},
    )
    response = client.post(url("client_delete", account, client_row.pk))
    assert response["Location"] == url("clients", account)
    client_row.refresh_from_db()
    assert client_row.removed_at is not None


def test_client_sessions_action(personas, login, account, client_row, mocked):
    expect_client_sessions(mocked, "ck-globex", "cs-1")
    response = login(personas["manager"]).post(
        url("client_sessions", account, client_row.pk), **HX
    )
    body = response.content.decode()
    assert "cs-1" in body and "<html" not in body


def test_client_page_makes_no_vendor_call(personas, login, account, client_row, mocked):
    # `mocked` has nothing registered: any Surfly call would fail the request.
    response = login(personas["manager"]).get(
        url("client_edit", account, client_row.pk)
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Fetch active sessions" in body and "Fetch all sessions" in body
