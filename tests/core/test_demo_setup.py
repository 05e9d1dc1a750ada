"""`manage.py demo_setup`: tenant admins are plain users (no Django admin, which
shows every tenant); a separate `ops` superuser runs the Django admin."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

#: README's demo logins table.
TENANT_LOGINS = [
    ("admin", "demo-admin-2026"),
    ("manager", "demo-manager-2026"),
    ("agent", "demo-agent-2026"),
    ("globex-admin", "demo-globex-2026"),
]
OPS_USER = ("ops", "demo-ops-2026")

pytestmark = pytest.mark.django_db(databases="__all__")


def demo_setup() -> str:
    out = StringIO()
    call_command("demo_setup", size=5, stdout=out)
    return out.getvalue()


def admin_page(client, username, password):
    assert client.login(username=username, password=password)
    return client.get("/admin/")


def test_tenant_admins_get_no_django_admin(client):
    demo_setup()
    User = get_user_model()
    for username, password in TENANT_LOGINS:
        user = User.objects.get(username=username)
        assert user.check_password(password), username
        assert not user.is_staff and not user.is_superuser, username
    response = admin_page(client, "admin", "demo-admin-2026")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # ... and the admin login refuses a non-staff user outright.
    client.logout()
    response = client.post(
        "/admin/login/", {"username": "admin", "password": "demo-admin-2026"}
    )
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_the_ops_superuser_runs_the_django_admin(client):
    output = demo_setup()
    username, password = OPS_USER
    ops = get_user_model().objects.get(username=username)
    assert ops.is_superuser and ops.is_staff and not ops.memberships.exists()
    assert admin_page(client, username, password).status_code == 200
    assert f"{username}" in output and password in output  # printed by make run


def test_a_demo_from_before_loses_its_superuser_admin(client):
    User = get_user_model()
    User.objects.create_superuser("admin", "admin@example.com", "demo-admin-2026")
    demo_setup()
    admin = User.objects.get(username="admin")
    assert not admin.is_staff and not admin.is_superuser
    assert admin.check_password("demo-admin-2026")  # the password is kept


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_demo_has_samesurf_data_on_every_page(client, live_server):
    """The SameSurf sandbox accounts of both demo workspaces, the rows no stream
    fills (scheduled rooms, the reseller's subscriptions with their keys,
    Globex's linked to its workspace), and after the streams `make run` starts
    with, every SameSurf page shows data."""
    from django.urls import reverse

    from cobrowse_portal.core.models import VendorAccount
    from cobrowse_portal.vendorkit.runs import execute_stream
    from vendors.samesurf.models import (
        SameSurfApiKey,
        SameSurfRoom,
        SameSurfScheduledRoom,
        SameSurfSubscription,
    )

    call_command("demo_setup", size=20, base_url=live_server.url, stdout=StringIO())
    call_command("demo_setup", size=20, base_url=live_server.url, stdout=StringIO())
    accounts = VendorAccount.objects.filter(vendor="samesurf")
    assert {a.workspace.slug for a in accounts} == {"acme-resellers", "globex"}
    desk = accounts.get(workspace__slug="acme-resellers")
    assert SameSurfScheduledRoom.objects.filter(account=desk).count() >= 2
    subs = SameSurfSubscription.objects.filter(account=desk)
    assert subs.count() == 3  # idempotent: the second run added none
    globex = subs.get(name__startswith="Globex")
    assert globex.client_workspace.slug == "globex"
    assert SameSurfApiKey.objects.filter(account=desk).count() == 3
    for stream in ("running", "analytics", "overview", "subscriptions"):
        execute_stream(desk.pk, stream)
    assert SameSurfRoom.objects.filter(account=desk, is_running=True).exists()
    assert client.login(username="manager", password="demo-manager-2026")
    room = SameSurfRoom.objects.filter(account=desk, recordings__gt=0).first()
    scheduled = SameSurfScheduledRoom.objects.filter(account=desk).first()
    pages = {
        "running": ([], "Running for"),
        "history": ([], "Recordings"),
        "room_detail": ([room.pk], "Open recording"),
        "analytics": ([], "Average duration"),
        "scheduled": ([], scheduled.title),
        "scheduled_detail": ([scheduled.pk], scheduled.invitees),
        "subscriptions": ([], globex.name),
        "subscription_detail": ([globex.pk], "Add an API key"),
    }
    for name, (args, text) in pages.items():
        response = client.get(reverse(f"samesurf:{name}", args=[desk.pk, *args]))
        assert response.status_code == 200, name
        assert text in response.content.decode(), name


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_demo_has_an_upscope_sandbox_account_with_data(live_server):
    """An Upscope sandbox account in both demo workspaces, the rows no stream
    fills (visitors seen before the demo, the sandbox's users in the agent
    directory), idempotent; after the streams `make run` starts with, sessions
    (named after their visitors), visitors online, usage and agents are there,
    and the control room has them."""
    from cobrowse_portal.core.models import (
        Activity,
        AgentIdentity,
        UsageDay,
        VendorAccount,
        VendorAgent,
    )
    from cobrowse_portal.vendorkit.runs import execute_stream
    from vendors.upscope.models import (
        UpscopeAgent,
        UpscopeSession,
        UpscopeUsage,
        UpscopeVisitor,
    )

    for _ in range(2):
        output = StringIO()
        call_command("demo_setup", size=20, base_url=live_server.url, stdout=output)
    assert "demo upscope: " in output.getvalue()
    accounts = VendorAccount.objects.filter(vendor="upscope")
    assert {a.workspace.slug for a in accounts} == {"acme-resellers", "globex"}
    desk = accounts.get(workspace__slug="acme-resellers")
    visitors = UpscopeVisitor.objects.filter(account=desk)
    assert visitors.count() >= 4 and visitors.filter(call_name="Ana Lima").exists()
    people = AgentIdentity.objects.filter(workspace=desk.workspace)
    assert people.filter(email="alice@acme.test").count() == 1  # idempotent
    for stream in ("visitors", "sessions", "usage", "agents"):
        run = execute_stream(desk.pk, stream)
        assert run.status == "succeeded", (stream, run.error)
    sessions = UpscopeSession.objects.filter(account=desk)
    assert sessions.filter(is_ongoing=True).exists()
    assert sessions.filter(visitor_label="Ana Lima").exists()
    assert visitors.filter(is_online=True).exists()
    assert UpscopeUsage.objects.filter(account=desk).exists()
    assert UsageDay.objects.filter(account=desk).exists()
    assert UpscopeAgent.objects.filter(account=desk, email="alice@acme.test").exists()
    assert VendorAgent.objects.filter(
        account=desk, identity__email="alice@acme.test"
    ).exists()
    assert Activity.objects.filter(account=desk).count() == sessions.count()


def test_the_demo_reseller_provisions_two_clients_once():
    from cobrowse_portal.provisioning.models import ProvisioningRun

    output = demo_setup()
    runs = ProvisioningRun.objects.filter(workspace__slug="acme-resellers")
    assert sorted(r.subject for r in runs) == ["Initech", "Umbrella Health"]
    steps = {r.subject: sorted(r.steps.values_list("vendor", flat=True)) for r in runs}
    assert steps == {
        "Initech": ["smartsupp", "surfly"],
        "Umbrella Health": ["samesurf", "surfly"],
    }
    assert "provisioning Initech" in output
    demo_setup()  # idempotent
    assert ProvisioningRun.objects.filter(workspace__slug="acme-resellers").count() == 2
    # The Smartsupp password waits encrypted for the worker, never in clear.
    step = runs.get(subject="Initech").steps.get(vendor="smartsupp")
    assert "demo-initech-2026" not in step.secrets_encrypted
    assert step.secrets == {"password": "demo-initech-2026"}


def test_the_demo_has_one_daily_report_run_once(settings, tmp_path):
    from cobrowse_portal.reports.models import OutboxMessage, ReportDefinition

    settings.EMAIL_BACKEND = "cobrowse_portal.reports.mail.OutboxFileBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    demo_setup()
    demo_setup()
    definition = ReportDefinition.objects.get()
    assert definition.workspace.slug == "acme-resellers"
    assert (definition.frequency, definition.include_clients) == ("daily", True)
    run = definition.runs.get()
    assert run.status == "sent", run.error
    assert "Globex (client)" in run.figures["workspaces"]
    message = OutboxMessage.objects.get()
    assert (tmp_path / "outbox" / message.file_name).is_file()
