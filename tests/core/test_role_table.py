"""The least role of every portal view, pinned by hand.

The URL matrix (`test_url_matrix.py`) derives each expected answer from the view's
own `min_role`, so it proves the views are *consistent* with what they declare.
This file proves they declare the *right* role: the table below is written from
DESIGN.md ("Vendor accounts, workspaces, roles"):

- admin: everything, including credentials (accounts, their keys, connection tests,
  the webhook receiver whose URL carries the account's secret token);
- manager: dashboards, agents, sessions, reports, provisioning actions;
- agent: the live view, starting and ending co-browses.

Every named URL must be in the table: a new view fails here until someone decides,
consciously, who may use it. Each view is then called by every persona with GET
and with POST (also with the POST parameters some views branch on): a persona
below the least role gets 403, makes no vendor call and changes nothing; a persona
at or above it is let through.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import get_resolver, reverse
from django_celery_beat.models import PeriodicTask

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.models import PendingWrite

from .urlwalk import SPECIAL, _walk, all_pages, build_kwargs, get_allowed, rank

A, M, AD = Role.AGENT, Role.MANAGER, Role.ADMIN
# Views that are not `role_required`, and what guards them instead.
PUBLIC = "public"  # anyone (the login page, logout)
LOGGED_IN = "logged-in"  # any signed-in user, whatever the workspace role
SUPERUSER = "superuser"  # Django's admin
TOKEN = "webhook-token"  # called by vendors; the per-account token (test_webhooks)

ROLE_TABLE = {
    # --- portal core ------------------------------------------------------------
    "core:dashboard": A,
    "core:switch_workspace": LOGGED_IN,
    "core:account_list": M,
    "core:account_detail": M,
    "core:account_add": AD,  # credentials
    "core:account_edit": AD,  # credentials
    "core:account_toggle": AD,
    "core:account_delete": AD,
    "core:account_test": AD,  # uses the stored credentials
    "core:account_test_new": AD,
    "core:account_sync": M,
    "core:sync_progress": M,
    "core:account_schedule": M,
    "core:pending_write": M,
    "core:run_list": M,  # reports
    "core:run_detail": M,
    # --- the control room: the live board for agents, reports for managers ------
    "core:live": A,
    "core:activity": M,  # history across vendors (reports)
    "core:activity_csv": M,
    "core:agents": M,
    "core:agent_link": M,
    "core:agent_unlink": M,
    "core:usage": M,
    "core:usage_csv": M,
    # --- a reseller's clients: seats and provisioning (managers, DESIGN.md) -------
    "core:client_seats": M,
    "core:client_seats_csv": M,
    "provisioning:clients": M,
    "provisioning:client_new": M,
    "provisioning:client_remove": M,
    "provisioning:run": M,
    "provisioning:run_action": M,
    "provisioning:step_action": M,
    "provisioning:offboard": M,
    # --- operations: alerts (thresholds are an admin's), reports, the Outbox --------
    "alerts:list": M,
    "alerts:acknowledge": M,
    "alerts:settings": AD,
    "reports:definitions": M,
    "reports:definition": M,
    "reports:definition_new": M,
    "reports:definition_edit": M,
    "reports:definition_delete": M,
    "reports:run": M,
    "reports:run_csv": M,
    "reports:preview": M,
    "reports:send_now": M,
    "reports:outbox": M,
    "reports:outbox_message": M,
    # --- Surfly: sessions (agents: live view, start and end co-browses) ----------
    "surfly:live": A,
    "surfly:session_start": A,
    "surfly:session_detail": A,
    "surfly:session_end": A,
    "surfly:session_screenshot": A,
    # --- Surfly: reports, agents, company settings (managers) -------------------
    "surfly:history": M,
    "surfly:history_csv": M,
    "surfly:sessions_check": M,
    "surfly:agents": M,
    "surfly:agent_add": M,
    "surfly:agent_edit": M,
    "surfly:agent_delete": M,
    "surfly:agent_toggle": M,
    "surfly:agent_token": M,  # an agent must not take another agent's token
    "surfly:options": M,
    "surfly:options_reset": M,
    "surfly:options_copy": M,  # replaces every option: a manager's decision
    "surfly:webhooks": M,
    "surfly:webhook_add": M,
    "surfly:webhook_edit": M,
    "surfly:webhook_delete": M,
    "surfly:webhook_refresh": M,
    "surfly:webhooks_register": AD,  # the receiver URL holds the secret token
    "surfly:servers": M,
    # --- Surfly: reseller provisioning (managers) -------------------------------
    "surfly:clients": M,
    "surfly:client_add": M,
    "surfly:client_edit": M,
    "surfly:client_domains": M,
    "surfly:client_delete": M,
    "surfly:client_sessions": M,
    "surfly:client_refresh": M,
    # --- SameSurf: rooms (agents: live view, start rooms, invitations) ---------
    "samesurf:running": A,
    "samesurf:room_start": A,
    "samesurf:room_detail": A,
    "samesurf:room_thumbnails": A,
    "samesurf:room_token": A,
    "samesurf:recording_open": A,  # as Surfly's screenshot action
    "samesurf:token_revoke": A,
    "samesurf:scheduled": A,  # scheduling a room is starting one for later
    "samesurf:scheduled_detail": A,
    "samesurf:scheduled_token": A,
    # --- SameSurf: reports (managers) -------------------------------------------
    "samesurf:history": M,
    "samesurf:room_analytics": M,
    "samesurf:analytics": M,
    # --- SameSurf: reseller provisioning (managers) -----------------------------
    "samesurf:subscriptions": M,
    "samesurf:subscription_add": M,
    "samesurf:subscription_detail": M,
    "samesurf:subscription_key": M,
    "samesurf:subscription_delete": M,
    # --- Upscope: visitors (agents: watch, stop and end co-browses) --------------
    "upscope:visitors": A,
    "upscope:visitors_search": A,  # a live search is part of finding a visitor
    "upscope:visitor_detail": A,
    "upscope:visitor_watch": A,
    "upscope:visitor_stop": A,
    "upscope:visitor_refresh": A,
    "upscope:visitor_onpremise": A,  # an on-premise co-browse is a co-browse
    "upscope:session_detail": A,  # the Live board links to it
    "upscope:session_stop": A,  # the Live board's End
    # --- Upscope: deletes at the vendor (admins: data gone for good) ------------
    "upscope:visitor_delete": AD,
    "upscope:visitors_delete_offline": AD,
    # --- Upscope: reports and the agent directory (managers) --------------------
    "upscope:sessions": M,
    "upscope:agents": M,
    "upscope:usage": M,
    # --- Smartsupp: finished chats (agents: the Live board links to a chat) ------
    "smartsupp:chats": A,
    "smartsupp:chat": A,
    # --- Smartsupp: reseller provisioning and account setup (managers) ----------
    "smartsupp:accounts": M,
    "smartsupp:account_add": M,
    "smartsupp:account_edit": M,
    "smartsupp:account_refresh": M,
    "smartsupp:account_delete": M,  # as Surfly's client delete
    "smartsupp:users": M,
    "smartsupp:user_add": M,
    "smartsupp:user_edit": M,
    "smartsupp:user_refresh": M,
    "smartsupp:user_delete": M,  # as Surfly's agent delete
    "smartsupp:triggers": M,
    "smartsupp:trigger_add": M,
    "smartsupp:trigger_edit": M,
    "smartsupp:trigger_active": M,
    "smartsupp:trigger_refresh": M,
    "smartsupp:trigger_delete": M,
    "smartsupp:officehours": M,
    # --- Serviceform: chats (agents: the control room links a transcript) -------
    "serviceform:chats": A,
    "serviceform:chat": A,
    "serviceform:chat_refresh": A,
    # --- Serviceform: spaces and item writes, leads, statistics (managers) -----
    "serviceform:spaces": M,
    "serviceform:space_items": M,
    "serviceform:item_new": M,
    "serviceform:item_edit": M,
    "serviceform:item_refresh": M,
    "serviceform:item_delete": M,  # an item is the account's record (browser test)
    "serviceform:leads": M,
    "serviceform:statistics": M,
    # --- not role_required ------------------------------------------------------
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_change": LOGGED_IN,
    "password_change_done": LOGGED_IN,
    "admin:index": SUPERUSER,
    "webhook_receive": TOKEN,
}
ROLES = {A, M, AD}

# POST bodies that would really perform the action (so a missing role check shows
# as a change), several where the view branches on what is posted.
POSTS = {
    "core:account_add": [
        {
            "vendor": "surfly",
            "name": "Planted desk",
            "base_url": "https://surfly.test/v2",
            "cred_api_key": "planted-key-123456",
            "enabled": "on",
        }
    ],
    "core:account_edit": [
        {"name": "Renamed desk", "base_url": "https://surfly.test/v2", "enabled": "on"}
    ],
    "core:account_test": [
        {},
        {"name": "Desk", "base_url": "https://surfly.test/v2", "cred_api_key": "k"},
    ],
    "core:account_test_new": [
        {"vendor": "surfly"},
        {
            "vendor": "surfly",
            "name": "Desk",
            "base_url": "https://surfly.test/v2",
            "cred_api_key": "key-123456",
        },
    ],
    "core:account_schedule": [{"every": "7", "enabled": "on"}],
    "surfly:agent_add": [
        {
            "username": "Mallory",
            "agent_email": "mallory@example.com",
            "password": "Correct-Horse-9",
            "role": "admin",
        }
    ],
    "surfly:agent_edit": [{"username": "Mallory", "role": "admin", "available": "on"}],
    "surfly:agent_token": [{}, {"force_new": "1"}],
    "surfly:session_start": [{"url": "https://example.com/", "tags": "x"}],
    "surfly:session_screenshot": [{"size": "800"}],
    "surfly:webhook_add": [
        {
            "url": "https://evil.example/h",
            "category": "session.started",
            "enabled": "on",
        }
    ],
    "surfly:webhook_edit": [
        {
            "url": "https://evil.example/h",
            "category": "session.started",
            "enabled": "on",
        }
    ],
    "surfly:client_add": [
        {
            "company_name": "Planted Co",
            "domains": "planted.test",
            "agent_email": "p@planted.test",
            "agent_name": "P",
            "create_workspace": "on",
        }
    ],
    "surfly:client_edit": [{"company_name": "Renamed Co"}],
    "surfly:client_domains": [{"domains": "planted.test"}],
    "surfly:sessions_check": [{"how": "history"}, {"how": "list"}],
    "samesurf:room_start": [{"start_url": "https://example.com/", "title": "x"}],
    "samesurf:room_token": [{"usage_limit": "1", "is_leader": "on"}],
    "samesurf:scheduled_token": [{"usage_limit": "1", "is_leader": "on"}],
    "samesurf:scheduled": [
        {
            "event_time": "2099-01-01T10:00",
            "timezone": "Europe/London",
            "start_url": "https://example.com/",
        }
    ],
    "samesurf:subscription_add": [
        {"name": "Planted", "license_count": "3", "create_workspace": "on"}
    ],
    "samesurf:subscription_delete": [{"workspace": "archive"}, {"workspace": "keep"}],
    "upscope:visitors_search": [{"q": "online"}],
    "upscope:visitor_watch": [{"naked": "true", "metadata": "ticket=1"}],
    "upscope:visitor_delete": [{"confirm": "on"}],
    "upscope:visitors_delete_offline": [{"confirm": "on"}],
    "upscope:agents": [{"email": "mallory@example.com"}],
    "smartsupp:account_add": [
        {"title": "Planted Co", "lang": "en", "create_workspace": "on"}
    ],
    "smartsupp:account_edit": [{"title": "Renamed Co", "lang": "en"}],
    "smartsupp:account_delete": [
        {"confirm": "on"},
        {"confirm": "on", "workspace": "archive"},
    ],
    "smartsupp:user_add": [
        {
            "role": "admin",
            "email": "mallory@example.com",
            "fullname": "Mallory",
            "password": "Correct-Horse-9",
        }
    ],
    "smartsupp:user_edit": [{"role": "admin", "fullname": "Mallory"}],
    "smartsupp:user_delete": [{"confirm": "on"}],
    "smartsupp:trigger_add": [
        {
            "name": "Planted",
            "event": "onload",
            "constraints": "all",
            "condition_name": "delay_site",
            "condition_value": "1",
            "action_message": "Hi",
        }
    ],
    "smartsupp:trigger_edit": [
        {
            "name": "Planted",
            "event": "onload",
            "constraints": "all",
            "action_message": "Hi",
        }
    ],
    "smartsupp:trigger_active": [{"active": "0"}, {"active": "1"}],
    "smartsupp:trigger_delete": [{"confirm": "on"}],
    "smartsupp:officehours": [
        {
            "timezone": "0",
            "active": "on",
            "open": "1",
            "from_1": "08:00",
            "to_1": "09:00",
        }
    ],
    "serviceform:item_new": [{"primary_field": "Planted", "customer": "X"}],
    "serviceform:item_edit": [{"primary_field": "Planted", "customer": "X"}],
    "serviceform:item_delete": [{"confirm": "on"}],
}
MEMBERS = ("agent", "manager", "admin")  # least first: denials run before changes


def named_views() -> set[str]:
    """Every named URL of the project but the sandboxes' and the admin's models."""
    names = set()
    for page in _walk(get_resolver().url_patterns):
        if page.route.startswith("sandbox/"):
            continue
        if page.route.startswith("admin/") and page.name != "admin:index":
            continue
        names.add(page.name)
    return names


def test_every_named_view_is_in_the_role_table():
    names = named_views()
    missing = sorted(names - set(ROLE_TABLE))
    assert not missing, (
        f"views without an entry in ROLE_TABLE: {missing}. Decide who may use "
        "each one (DESIGN.md, 'Vendor accounts, workspaces, roles') and add it."
    )
    assert not sorted(set(ROLE_TABLE) - names), "ROLE_TABLE names views that are gone"


@pytest.mark.parametrize("pg", all_pages(), ids=str)
def test_declared_role_is_the_intended_one(pg):
    want = ROLE_TABLE.get(pg.name)
    if want in ROLES:
        assert pg.min_role == want, (
            f"{pg.name} declares role_required({pg.min_role!r}), the table says "
            f"{want!r}"
        )
    else:
        assert pg.min_role is None and pg.name in SPECIAL, (pg.name, pg.min_role)


# --- what each persona actually gets ------------------------------------------------
def snapshot() -> dict:
    """Every row of the portal's own tables and of the schedules."""
    models = [
        *apps.get_app_config("core").get_models(),
        *apps.get_app_config("surfly").get_models(),
        *apps.get_app_config("samesurf").get_models(),
        *apps.get_app_config("upscope").get_models(),
        *apps.get_app_config("smartsupp").get_models(),
        PeriodicTask,
    ]
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


@pytest.fixture
def kept_write(portal):
    return PendingWrite.objects.create(
        account=portal.account,
        action="vendors.surfly.services.delete_agent",
        description="Delete agent Zebracorn Agent",
    )


def _urls(page, portal, kept_write) -> list[str]:
    kwargs, _ = build_kwargs(page, portal.accounts, portal.run)
    if page.name == "core:pending_write":
        return [
            reverse(page.name, kwargs={**kwargs, "pk": kept_write.pk, "action": act})
            for act in ("retry", "discard")
        ]
    return [reverse(page.name, kwargs=kwargs)]


ROLE_PAGES = [p for p in all_pages() if ROLE_TABLE.get(p.name) in ROLES]


def role_problems(page, portal, client, kept_write, no_network) -> list[str]:
    """How the answers to each member differ from what ROLE_TABLE allows."""
    least = ROLE_TABLE[page.name]
    problems = []
    for url in _urls(page, portal, kept_write):
        for who in MEMBERS:
            client.force_login(portal.personas[who])
            attempts = [("POST", data) for data in POSTS.get(page.name, [{}])]
            if get_allowed(page):
                attempts.insert(0, ("GET", None))
            for method, data in attempts:
                before, made = snapshot(), len(no_network.calls)
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.post(url, data)
                status = response.status_code
                what = f"{who} {method} {url} {data or ''}".rstrip()
                if rank(who) < rank(least):
                    if status != 403:
                        problems.append(f"{what}: expected 403, got {status}")
                    if len(no_network.calls) != made:
                        problems.append(f"{what}: called the vendor")
                    if snapshot() != before:
                        problems.append(f"{what}: changed stored data")
                # 503: the vendor is unreachable here (no network), said nicely.
                elif status in {403, 405} or (status >= 500 and status != 503):
                    problems.append(f"{what}: {least} and up may, got {status}")
                elif status == 302 and response["Location"].startswith(
                    reverse("login")
                ):
                    problems.append(f"{what}: sent to the login page")
    return problems


@pytest.mark.parametrize("pg", ROLE_PAGES, ids=str)
def test_each_persona_gets_what_the_table_allows(
    pg, portal, client, kept_write, no_network
):
    problems = role_problems(pg, portal, client, kept_write, no_network)
    assert not problems, f"{pg.name} (least role {ROLE_TABLE[pg.name]}):\n" + (
        "\n".join(problems)
    )


def test_the_table_check_catches_an_agent_deleting_a_client(
    portal, client, kept_write, no_network, monkeypatch
):
    """Deliberately broken: `client_delete` open to agents (a mutation the review
    made). The declaration and the answers are both reported."""
    from vendors.surfly.models import SurflyClient

    page = next(p for p in ROLE_PAGES if p.name == "surfly:client_delete")
    monkeypatch.setattr(page.callback, "min_role", Role.AGENT)
    with pytest.raises(AssertionError, match="declares role_required"):
        test_declared_role_is_the_intended_one(page)
    monkeypatch.undo()

    from cobrowse_portal.core import permissions

    real = permissions.has_role
    monkeypatch.setattr(
        permissions, "has_role", lambda request, minimum: real(request, Role.AGENT)
    )
    no_network.add("DELETE", f"{portal.account.base_url}/clients/all/Zebracorn-client/")
    problems = role_problems(page, portal, client, kept_write, no_network)
    assert any(p.startswith("agent POST") and "expected 403" in p for p in problems)
    assert any("called the vendor" in p for p in problems)
    assert any("changed stored data" in p for p in problems)
    assert SurflyClient.objects.get(pk=portal.rows["client"].pk).removed_at
