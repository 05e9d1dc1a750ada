"""Workspaces and roles: the switcher, effective roles across reseller and client
workspaces, and the login, logout and password change flows."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from cobrowse_portal.core.choices import Role
from cobrowse_portal.core.models import (
    Membership,
    effective_role,
    open_workspaces,
    workspaces_for,
)
from tests.conftest import PASSWORD, make_user

from .conftest import make_account

SWITCH = "core:switch_workspace"


def current_workspace(client):
    return client.get(reverse("core:dashboard")).wsgi_request.workspace


# --- switcher -------------------------------------------------------------------------
def test_reseller_admin_switches_to_the_client_workspace(
    personas, client_workspace, client
):
    make_account(client_workspace, "Globex desk")
    client.force_login(personas["admin"])
    page = client.get(reverse("core:dashboard")).content.decode()
    assert 'id="ws-select"' in page and "Globex" in page  # offered in the switcher
    assert current_workspace(client).slug == "acme"

    response = client.post(reverse(SWITCH), {"workspace": client_workspace.pk})
    assert response.status_code == 302 and response["Location"] == reverse(
        "core:dashboard"
    )
    response = client.get(reverse("core:dashboard"))
    assert response.wsgi_request.workspace == client_workspace
    assert response.wsgi_request.role == Role.ADMIN  # from the reseller membership
    assert "Globex desk" in response.content.decode()
    # The choice sticks across requests; the accounts page now lists Globex's.
    assert "Globex desk" in client.get(reverse("core:account_list")).content.decode()


def test_reseller_agent_cannot_see_or_enter_the_client_workspace(
    personas, client_workspace, client
):
    client.force_login(personas["agent"])
    page = client.get(reverse("core:dashboard")).content.decode()
    assert "Globex" not in page
    assert (
        client.post(reverse(SWITCH), {"workspace": client_workspace.pk}).status_code
        == 404
    )
    assert current_workspace(client).slug == "acme"


def test_outsider_cannot_switch_into_another_tenant(
    personas, reseller, client_workspace, client
):
    client.force_login(personas["outsider"])
    for target in (reseller, client_workspace):
        assert client.post(reverse(SWITCH), {"workspace": target.pk}).status_code == 404
    assert current_workspace(client).slug == "initech"


@pytest.mark.parametrize(
    "value", ["", "abc", "-1", "1.5", "²", "99999999999999999999999"]
)
def test_switch_with_garbage_is_404(personas, client, value):
    client.force_login(personas["admin"])
    assert client.post(reverse(SWITCH), {"workspace": value}).status_code == 404


def test_switch_is_post_only(personas, client, client_workspace):
    client.force_login(personas["admin"])
    assert (
        client.get(reverse(SWITCH), {"workspace": client_workspace.pk}).status_code
        == 405
    )


def test_a_removed_membership_takes_effect_at_once(
    personas, reseller, client_workspace, client
):
    client.force_login(personas["admin"])
    client.post(reverse(SWITCH), {"workspace": client_workspace.pk})
    assert current_workspace(client) == client_workspace
    # Demoted to agent in the reseller: the client workspace is gone for them.
    Membership.objects.filter(user=personas["admin"], workspace=reseller).update(
        role=Role.AGENT
    )
    request = client.get(reverse("core:dashboard")).wsgi_request
    assert request.workspace == reseller and request.role == Role.AGENT


def test_user_without_workspace_gets_a_friendly_403(client, db):
    client.force_login(make_user("loner"))
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 403
    assert "not in any workspace" in response.content.decode()


# --- effective roles ------------------------------------------------------------------
def test_effective_role_rules(reseller, client_workspace, other_workspace):
    admin = make_user("r-admin", reseller, Role.ADMIN)
    manager = make_user("r-manager", reseller, Role.MANAGER)
    agent = make_user("r-agent", reseller, Role.AGENT)
    client_agent = make_user("c-agent", client_workspace, Role.AGENT)
    both = make_user("both", client_workspace, Role.AGENT)
    Membership.objects.create(user=both, workspace=reseller, role=Role.MANAGER)
    nobody = make_user("nobody", other_workspace, Role.ADMIN)

    assert effective_role(admin, reseller) == Role.ADMIN
    assert effective_role(admin, client_workspace) == Role.ADMIN  # inherited
    assert effective_role(manager, client_workspace) == Role.MANAGER  # inherited
    assert effective_role(agent, reseller) == Role.AGENT
    assert effective_role(agent, client_workspace) is None  # agents do not inherit
    assert effective_role(client_agent, client_workspace) == Role.AGENT
    assert effective_role(client_agent, reseller) is None  # no upward inheritance
    assert effective_role(both, client_workspace) == Role.MANAGER  # the higher wins
    assert effective_role(nobody, reseller) is None
    assert effective_role(nobody, client_workspace) is None
    assert effective_role(AnonymousUser(), reseller) is None

    assert set(workspaces_for(admin)) == {reseller, client_workspace}
    assert set(workspaces_for(agent)) == {reseller}
    assert set(workspaces_for(client_agent)) == {client_workspace}
    assert set(workspaces_for(nobody)) == {other_workspace}


def test_open_workspaces_matches_effective_role_for_every_user(
    reseller, client_workspace, other_workspace, django_assert_num_queries
):
    """The middleware's one query (SQL written once, the user's pk bound per call)
    answers what workspaces_for and effective_role answer, for each user in turn."""
    make_user("r-admin", reseller, Role.ADMIN)
    make_user("r-manager", reseller, Role.MANAGER)
    make_user("r-agent", reseller, Role.AGENT)
    make_user("c-agent", client_workspace, Role.AGENT)
    both = make_user("both", client_workspace, Role.AGENT)
    Membership.objects.create(user=both, workspace=reseller, role=Role.MANAGER)
    make_user("nobody", other_workspace, Role.ADMIN)
    make_user("none-at-all")
    archived = make_user("archived", other_workspace, Role.MANAGER)
    users = list(get_user_model().objects.order_by("pk"))
    assert len(users) >= 8
    for user in users:
        expected = [
            (ws, effective_role(user, ws))
            for ws in workspaces_for(user).order_by("name", "pk")
        ]
        with django_assert_num_queries(1):
            got = open_workspaces(user)
        assert [(ws.pk, ws.name, ws.parent_id, role) for ws, role in got] == [
            (ws.pk, ws.name, ws.parent_id, role) for ws, role in expected
        ], user.username
        for ws, _ in got:  # full rows, with the database's types
            fresh = type(ws).objects.get(pk=ws.pk)
            assert ws.created_at == fresh.created_at and ws.archived_at is None
    # An archived workspace is not offered.
    other_workspace.archived_at = other_workspace.created_at
    other_workspace.save()
    assert open_workspaces(archived) == []


def test_user_lookup_reads_the_workspaces_in_the_same_query(
    reseller, client_workspace, other_workspace, django_assert_num_queries
):
    """The per-request user lookup (the session's backend) brings the user's
    open workspaces with their roles in its one query: what open_workspaces
    answers, for each user in turn, and the user as the ORM would load it."""
    from cobrowse_portal.core.auth import PortalBackend

    make_user("r-admin", reseller, Role.ADMIN)
    make_user("r-agent", reseller, Role.AGENT)
    make_user("c-agent", client_workspace, Role.AGENT)
    both = make_user("both", client_workspace, Role.AGENT)
    Membership.objects.create(user=both, workspace=reseller, role=Role.MANAGER)
    make_user("nobody", other_workspace, Role.ADMIN)
    make_user("none-at-all")
    backend = PortalBackend()
    fields = [f.attname for f in get_user_model()._meta.concrete_fields]
    for user in get_user_model().objects.order_by("pk"):
        expected = [(ws.pk, ws.name, role) for ws, role in open_workspaces(user)]
        with django_assert_num_queries(1):
            got = backend.get_user(user.pk)
            opened = open_workspaces(got)  # read with the user: no query
        assert [(ws.pk, ws.name, role) for ws, role in opened] == expected
        assert [getattr(got, f) for f in fields] == [getattr(user, f) for f in fields]
        assert got.get_session_auth_hash() == user.get_session_auth_hash()
        for ws, _ in opened:
            fresh = type(ws).objects.get(pk=ws.pk)
            assert ws.created_at == fresh.created_at and ws.time_zone == fresh.time_zone
    # As ModelBackend: no such user, or an inactive one, is nobody.
    assert backend.get_user(987654) is None
    both.is_active = False
    both.save()
    assert backend.get_user(both.pk) is None


# --- login, logout, password ----------------------------------------------------------
def test_login_form_logs_in_and_lands_on_the_dashboard(personas, client):
    response = client.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:dashboard")
    assert client.get(reverse("core:dashboard")).status_code == 200


def test_login_follows_a_local_next_but_not_a_foreign_one(personas, client):
    target = reverse("core:run_list")
    response = client.post(
        reverse("login"), {"username": "ada", "password": PASSWORD, "next": target}
    )
    assert response["Location"] == target
    client.logout()
    response = client.post(
        reverse("login"),
        {"username": "ada", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("core:dashboard")


def test_login_with_a_wrong_password_shows_the_error(personas, client):
    response = client.post(reverse("login"), {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_anonymous_is_sent_to_login_with_next(client, db):
    response = client.get(reverse("core:run_list"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/runs/"


def test_logout_is_a_post_and_ends_the_session(personas, client):
    client.force_login(personas["admin"])
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("core:dashboard")).status_code == 302


def test_password_change_flow(personas, client):
    user = personas["manager"]
    client.force_login(user)
    url = reverse("password_change")
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"old_password": "wrong", "new_password1": "x", "new_password2": "y"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your old password was entered incorrectly" in page
    new = "a-much-better-password-2026"
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    client.logout()
    assert client.login(username=user.username, password=new)
    assert not get_user_model().objects.get(pk=user.pk).check_password(PASSWORD)
