"""Every named URL × every persona: the answer each role should get, tenancy
(another workspace's objects are 404 and never shown), and no 500 on bad input.

The walker lives in `urlwalk.py`; vendor pages (``surfly:…``) join automatically.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from django.urls import reverse

from cobrowse_portal.core.models import VendorAccount

from .urlwalk import (
    SPECIAL,
    MissingSample,
    Page,
    all_pages,
    body,
    build_kwargs,
    get_allowed,
    rank,
    url_for,
)

PAGES = all_pages()
MEMBERS = ("admin", "manager", "agent")
OK = {200, 286, 302}  # 286: htmx "stop polling" (a finished progress fragment)


def expectation(page: Page, who: str, role: str | None, exact: bool):
    """A set of acceptable statuses, or "login"/"admin-login" (a redirect there)."""
    if page.name in SPECIAL:
        rule = SPECIAL[page.name]
        value = rule.get(who, rule["anon" if who == "anon" else "member"])
        return {value} if isinstance(value, int) else value
    if page.min_role is None:
        pytest.fail(
            f"{page.name} ({page.route}) is not wrapped in role_required (no "
            "`min_role`): every portal view must check workspace and role. If it "
            "really is public, add it to SPECIAL in tests/core/urlwalk.py with a "
            "reason."
        )
    if who == "anon":
        return "login"
    if rank(role) < rank(page.min_role):
        return {403}
    if not get_allowed(page):
        return {405}
    return OK | ({404} if not exact else set())


def check(response, want, url: str) -> str | None:
    """None if `response` meets `want`, else a sentence saying how it does not."""
    status = response.status_code
    location = response.get("Location", "")
    if want == "login":
        target = f"{reverse('login')}?next={quote(url)}"
        if status == 302 and location == target:
            return None
        return f"expected a redirect to {target}, got {status} {location}"
    if want == "admin-login":
        if status == 302 and location.startswith("/admin/login/"):
            return None
        return f"expected a redirect to the admin login, got {status} {location}"
    if status not in want:
        return f"expected {sorted(want)}, got {status} {location}"
    if status == 302 and location.startswith(reverse("login")):
        return f"a logged-in member was sent to the login page ({location})"
    return None


def _url(page, portal):
    try:
        return url_for(page, portal.accounts, portal.run)
    except MissingSample as exc:
        pytest.fail(str(exc))


def test_the_walker_finds_the_portal_pages():
    names = {p.name for p in PAGES}
    assert {
        "core:dashboard",
        "core:account_detail",
        "core:run_detail",
        "login",
        "admin:index",
    } <= names
    assert not any(p.route.startswith("sandbox/") for p in PAGES)
    assert "webhook_receive" not in names
    # A page outside SPECIAL without role_required would be reported, not skipped.
    bare = Page("core:bare", "bare/", lambda request: None)
    with pytest.raises(pytest.fail.Exception, match="not wrapped in role_required"):
        expectation(bare, "admin", "admin", True)


def test_an_unknown_url_keyword_fails_loudly(portal):
    page = Page(
        "surfly:thing",
        "v/surfly/<int:account_id>/things/<int:gizmo_id>/",
        lambda r: None,
        {"account_id": None, "gizmo_id": None},
    )
    with pytest.raises(MissingSample, match="add a sample value|Add a sample value"):
        build_kwargs(page, portal.accounts, portal.run)


def persona_problems(page: Page, portal, client) -> list[str]:
    """How the answers to each persona differ from what their roles allow."""
    url, exact = _url(page, portal)
    problems = []
    client.logout()
    want = expectation(page, "anon", None, exact)
    if problem := check(client.get(url), want, url):
        problems.append(f"anonymous: {problem}")
    for who in MEMBERS:
        client.force_login(portal.personas[who])
        response = client.get(url)
        if problem := check(response, expectation(page, who, who, exact), url):
            problems.append(f"{who}: {problem}")
    if "superuser" in SPECIAL.get(page.name, {}):
        client.force_login(portal.superuser)
        want = expectation(page, "superuser", None, exact)
        if problem := check(client.get(url), want, url):
            problems.append(f"superuser: {problem}")
    return problems


def outsider_problems(page: Page, portal, client) -> list[str]:
    """An admin of another workspace: object pages must 404 (also for POST), no
    page may show the reseller's names, and nothing of theirs may change."""
    url, _ = _url(page, portal)
    client.force_login(portal.personas["outsider"])
    response = client.get(url)
    problems = []
    if page.is_object_page:
        if not get_allowed(page):
            if response.status_code != 405:
                problems.append(f"GET {url}: expected 405, got {response.status_code}")
            response = client.post(url, {"name": "hijack", "every": "60"})
        if response.status_code != 404:
            problems.append(
                f"{response.request['REQUEST_METHOD']} {url}: expected "
                f"404, got {response.status_code}"
            )
    if b"Zebracorn" in body(response):
        problems.append(f"{url} shows the reseller's data to an outsider")
    account = VendorAccount.objects.filter(pk=portal.account.pk).first()
    if not account or not account.enabled or account.name != "Zebracorn Reseller Desk":
        problems.append(f"{url}: an outsider changed the reseller's account")
    return problems


@pytest.mark.parametrize("pg", PAGES, ids=str)
def test_each_persona_gets_what_its_role_allows(pg, portal, client, no_network):
    problems = persona_problems(pg, portal, client)
    assert not problems, f"{pg.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "pg", [p for p in PAGES if not p.name.startswith("admin:")], ids=str
)
def test_outsider_never_sees_the_workspace(pg, portal, client, no_network):
    problems = outsider_problems(pg, portal, client)
    assert not problems, "\n".join(problems)


RESELLER_PAGES = [p for p in PAGES if p.reseller_only]


def test_the_walker_knows_the_reseller_pages():
    assert {"core:client_seats", "core:client_seats_csv"} <= {
        p.name for p in RESELLER_PAGES
    }


@pytest.mark.parametrize("pg", RESELLER_PAGES, ids=str)
def test_reseller_pages_do_not_exist_in_other_workspaces(
    pg, portal, client, no_network
):
    """A client workspace's admin (its siblings' figures are the reseller's),
    the reseller's admin inside that client workspace, and a standalone
    workspace's admin all get 404; the reseller's own admin gets the page."""
    from cobrowse_portal.core.choices import Role
    from cobrowse_portal.core.middleware import SESSION_KEY
    from tests.conftest import make_user

    url, _ = _url(pg, portal)
    client_admin = make_user("client-admin", portal.client_workspace, Role.ADMIN)
    visits = [
        (client_admin, None, 404),
        (portal.personas["admin"], portal.client_workspace, 404),
        (portal.personas["outsider"], None, 404),
        (portal.personas["admin"], portal.reseller, 200),
    ]
    for user, workspace, want in visits:
        client.force_login(user)
        if workspace is not None:
            session = client.session
            session[SESSION_KEY] = workspace.pk
            session.save()
        response = client.get(url)
        assert response.status_code == want, (user, workspace, response.status_code)
        if want == 404:
            assert b"data-client=" not in body(response)


def _page(name: str) -> Page:
    return next(p for p in PAGES if p.name == name)


def test_the_role_check_catches_a_missing_role_check(portal, client, monkeypatch):
    """Deliberately broken: every role passes. Agents then reach manager pages."""
    from cobrowse_portal.core import permissions

    monkeypatch.setattr(permissions, "has_role", lambda request, minimum: True)
    problems = persona_problems(_page("core:run_list"), portal, client)
    assert any(p.startswith("agent: expected [403], got 200") for p in problems)


def test_the_tenancy_check_catches_a_leaky_lookup(portal, client, monkeypatch):
    """Deliberately broken: accounts looked up without the workspace."""
    from django.shortcuts import get_object_or_404

    from cobrowse_portal.core.views import accounts

    monkeypatch.setattr(
        accounts,
        "account_for",
        lambda request, pk, vendor=None: get_object_or_404(VendorAccount, pk=pk),
    )
    problems = outsider_problems(_page("core:account_detail"), portal, client)
    assert any("expected 404, got 200" in p for p in problems)
    assert any("shows the reseller's data" in p for p in problems)
    problems = outsider_problems(_page("core:account_toggle"), portal, client)
    assert any("changed the reseller's account" in p for p in problems)


@pytest.mark.parametrize(
    "pg",
    [p for p in PAGES if set(p.kwargs) - {"account_id", "run_id", "stream"}],
    ids=str,
)
def test_foreign_object_under_own_account_is_404(pg, portal, client, no_network):
    """Own account id in the URL, another workspace's object id next to it."""
    page = pg  # `page` is pytest-playwright's fixture name
    own, _ = build_kwargs(page, portal.accounts, portal.run)
    foreign, _ = build_kwargs(page, portal.other_accounts, portal.other_run)
    kwargs = {k: (own[k] if k == "account_id" else foreign[k]) for k in own}
    url = reverse(page.name, kwargs=kwargs)
    client.force_login(portal.personas["admin"])
    response = client.get(url) if get_allowed(page) else client.post(url, {})
    assert response.status_code in {404, 403}, f"{url}: {response.status_code}"
    assert b"Initech" not in body(response)


def test_admins_run_detail_of_another_workspace_is_404(portal, client):
    client.force_login(portal.personas["admin"])
    url = reverse("core:run_detail", kwargs={"run_id": portal.other_run.pk})
    assert client.get(url).status_code == 404


# --- bad input never answers 500 ------------------------------------------------------
def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GARBAGE_QUERIES = [
    "after=%21%21%21&ids=1,x,%C2%B2,99999999999999999999999&account=zz&status=bogus"
    "&since=notadate&until=2024-13-45&stream=%00&vendor=nope&edit=1&page=-1",
    f"after={_b64('garbage|1')}&account=99999999999999999999999",
    f"after={_b64('2024-01-01T00:00:00+00:00|99999999999999999999999')}",
    f"after={_b64('None|abc')}&since=0001-01-01&until=9999-12-31",
    "vendor=surfly&ids=" + ",".join(["7"] * 3000),
]
GARBAGE_POST = {
    "workspace": "²",
    "vendor": "surfly",
    "name": "x" * 500,
    "base_url": "not a url",
    "cred_api_key": "nul\x00byte",
    "every": "-5",
    "enabled": "maybe",
    "ids": "99999999999999999999999",
    "old_password": "\x00",
    "new_password1": "a",
    "new_password2": "b",
    "username": "\x00",
    "password": "x",
}


@pytest.mark.parametrize(
    "pg", [p for p in PAGES if not p.name.startswith("admin:")], ids=str
)
def test_bad_input_never_answers_500(pg, portal, client, no_network):
    page = pg  # `page` is pytest-playwright's fixture name
    url, _ = _url(page, portal)
    client.force_login(portal.personas["admin"])
    for query in GARBAGE_QUERIES:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(f"{url}?{query}", headers=headers)
            assert response.status_code < 500, (url, query, response.status_code)
    # Ids far beyond any integer column.
    int_kwargs = [
        k for k, conv in page.kwargs.items() if type(conv).__name__ == "IntConverter"
    ]
    if int_kwargs:
        own, _ = build_kwargs(page, portal.accounts, portal.run)
        for k in int_kwargs:
            huge = reverse(page.name, kwargs={**own, k: 10**22})
            response = client.get(huge) if get_allowed(page) else client.post(huge)
            assert response.status_code == 404, (huge, response.status_code)
    response = client.post(url, GARBAGE_POST)
    assert response.status_code < 500, (url, response.status_code)
