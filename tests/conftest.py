"""Shared fixtures: personas per role, workspaces, sandbox-backed accounts, browser."""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connections, transaction
from django.http import HttpRequest
from django.test import Client as DjangoClient
from django.test import TransactionTestCase

from cobrowse_portal.core import pagecache
from cobrowse_portal.core.choices import Role, WorkspaceKind
from cobrowse_portal.core.models import Membership, VendorAccount, Workspace
from cobrowse_portal.vendorkit import activity as activity_index

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-for-tests-123"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


class Client(DjangoClient):
    """The test client, whose `login()` works with axes on: axes' backend needs the
    request (to know the address), which Django's `Client.login` does not pass.
    Only the credentials check gets the fake request; the session is Django's."""

    def login(self, **credentials):
        if "request" not in credentials:
            request = HttpRequest()
            request.META["REMOTE_ADDR"] = "127.0.0.1"
            credentials["request"] = request
        return super().login(**credentials)


# --- emptying the databases after a transactional test ----------------------------
#: Reference rows written by migrations that no test changes: kept, so that the
#: post_migrate signal (which re-creates them, ~85 content types and their
#: permissions, on every alias) need not run after every transactional test.
KEPT_TABLES = frozenset({"django_migrations", "django_content_type", "auth_permission"})


def _empty_databases(self) -> None:
    """What `TransactionTestCase` does after each test (Django's `flush`), cheaper.

    Django's flush is one TRUNCATE of every table and then the post_migrate signal.
    On PostgreSQL a TRUNCATE of ~90 tables swaps every table's files and waits for
    the disk (0.3-1 s a test and alias); a DELETE of a test's few rows per table,
    with the foreign keys checked at commit (Django declares them DEFERRABLE), takes
    milliseconds. The reference tables stay, so post_migrate is not needed. With
    550 transactional tests on two aliases this is minutes of every PostgreSQL run.
    """
    for alias in self._databases_names(include_mirrors=False):
        connection = connections[alias]
        tables = [
            table
            for table in connection.introspection.django_table_names(
                only_existing=True, include_views=False
            )
            if table not in KEPT_TABLES
        ]
        if connection.vendor == "postgresql":
            quote = connection.ops.quote_name
            with transaction.atomic(using=alias), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                for table in tables:
                    cursor.execute(f"DELETE FROM {quote(table)}")
        else:
            connection.ops.execute_sql_flush(
                connection.ops.sql_flush(no_style(), tables, allow_cascade=False)
            )


TransactionTestCase._fixture_teardown = _empty_databases


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    pagecache.clear()  # kept pages: each test's databases start afresh
    activity_index._marked.clear()  # accounts marked changed (ids are reused)
    yield


def make_user(
    username: str, workspace: Workspace | None = None, role: str | None = None
):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", PASSWORD
    )
    if workspace is not None:
        Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def reseller(db) -> Workspace:
    return Workspace.objects.create(
        name="Acme", slug="acme", kind=WorkspaceKind.RESELLER
    )


@pytest.fixture
def client_workspace(reseller) -> Workspace:
    return Workspace.objects.create(
        name="Globex", slug="globex", kind=WorkspaceKind.CLIENT, parent=reseller
    )


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Initech", slug="initech")


@pytest.fixture
def personas(reseller, other_workspace) -> dict:
    """One user per role in `reseller`, and an admin of an unrelated workspace."""
    return {
        "admin": make_user("ada", reseller, Role.ADMIN),
        "manager": make_user("max", reseller, Role.MANAGER),
        "agent": make_user("aga", reseller, Role.AGENT),
        "outsider": make_user("otto", other_workspace, Role.ADMIN),
    }


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def sandbox_account(
    workspace,
    live_server_url: str,
    vendor: str = "surfly",
    key: str | None = None,
    name: str | None = None,
) -> VendorAccount:
    from cobrowse_portal.vendorkit import registry

    spec = registry.get(vendor)
    kind = "client" if workspace.kind == WorkspaceKind.CLIENT else "reseller"
    creds = {"api_key": key} if key else spec.sandbox_demo_credentials[kind]
    account = VendorAccount(
        workspace=workspace,
        vendor=vendor,
        name=name or f"{spec.label} sandbox",
        base_url=f"{live_server_url}{spec.sandbox_path}",
    )
    account.set_credentials(creds)
    account.save()
    return account


# --- real browser (Playwright driving Debian's Chromium) ---------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
