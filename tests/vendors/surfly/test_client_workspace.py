"""Deleting a reseller client whose workspace the portal created asks what becomes
of that workspace: archive it (nobody can open it, its accounts stop) or keep it.
It never silently stays behind."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cobrowse_portal.core.choices import Role, WorkspaceKind
from cobrowse_portal.core.models import (
    Membership,
    VendorAccount,
    Workspace,
    workspaces_for,
)
from tests.conftest import make_user
from vendors.surfly import services
from vendors.surfly.models import SurflyClient

from .fake_api import KEY, on

REST_KEY = "c0ffee" * 5 + "ab"


def url(name, account, *args):
    return reverse(f"surfly:{name}", args=[account.pk, *args])


@pytest.fixture
def provisioned(account, reseller, mocked):
    """A client created with its own client workspace (and a user in it)."""
    on(
        mocked,
        "POST",
        "clients/all/",
        json={"company_name": "Hooli", "client_key": "ck-h", "rest_key": REST_KEY},
    )
    created = services.create_client(
        account,
        company_name="Hooli",
        domains=["hooli.test"],
        agent_email="gavin@hooli.test",
        agent_name="Gavin",
        create_workspace=True,
        parent=reseller,
    )
    member = make_user("gavin", created.workspace, Role.ADMIN)
    return created, member


def test_creating_the_workspace_links_it_to_the_client(provisioned, account):
    created, _ = provisioned
    row = SurflyClient.objects.get(account=account, external_id="ck-h")
    assert row.client_workspace == created.workspace
    assert created.workspace.kind == WorkspaceKind.CLIENT


def test_the_delete_button_asks_about_the_workspace(
    provisioned, personas, login, account
):
    created, _ = provisioned
    page = login(personas["manager"]).get(
        url("client_edit", account, created.client.pk)
    )
    html = page.content.decode()
    assert "Its client workspace <strong>Hooli</strong>" in html
    assert 'name="workspace" value="archive" required' in html
    assert 'name="workspace" value="keep" required' in html


def test_delete_without_a_choice_sends_nothing(provisioned, personas, login, account):
    created, _ = provisioned
    client = login(personas["manager"])
    response = client.post(url("client_delete", account, created.client.pk))
    assert response["Location"] == url("client_edit", account, created.client.pk)
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("archive it or keep it" in t for t in texts), texts
    created.client.refresh_from_db()
    assert created.client.removed_at is None  # and `mocked` saw no DELETE


def test_delete_and_archive(provisioned, personas, login, account, mocked, client):
    created, member = provisioned
    on(mocked, "DELETE", "clients/all/ck-h/", json={"response": "Client was deleted"})
    response = login(personas["manager"]).post(
        url("client_delete", account, created.client.pk), {"workspace": "archive"}
    )
    assert response["Location"] == url("clients", account)
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Hooli archived" in t for t in texts), texts
    ws = Workspace.objects.get(pk=created.workspace.pk)
    assert ws.archived_at is not None
    assert not VendorAccount.objects.filter(workspace=ws, enabled=True).exists()
    assert not workspaces_for(member).exists()
    assert ws not in workspaces_for(personas["manager"])
    # Its member can no longer open it; the data is still there.
    client.force_login(member)
    assert client.get(reverse("core:dashboard")).status_code == 403
    assert Membership.objects.filter(workspace=ws).exists()


def test_delete_and_keep(provisioned, personas, login, account, mocked):
    created, member = provisioned
    on(mocked, "DELETE", "clients/all/ck-h/", json={"response": "Client was deleted"})
    response = login(personas["manager"]).post(
        url("client_delete", account, created.client.pk), {"workspace": "keep"}
    )
    assert response["Location"] == url("clients", account)
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Hooli kept" in t for t in texts), texts
    ws = Workspace.objects.get(pk=created.workspace.pk)
    assert ws.archived_at is None
    assert ws in workspaces_for(member)


def test_a_client_without_a_workspace_deletes_as_before(
    personas, login, account, client_row, mocked
):
    on(mocked, "DELETE", "clients/all/ck-globex/", json={"response": "deleted"})
    response = login(personas["manager"]).post(
        url("client_delete", account, client_row.pk)
    )
    assert response["Location"] == url("clients", account)
    assert KEY  # the faked API's key is the account's
