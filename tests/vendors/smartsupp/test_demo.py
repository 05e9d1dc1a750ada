"""`manage.py demo_setup` gives both demo workspaces a Smartsupp sandbox account
with finished chats (no stream fills them: they come by the POST hook), hooks
the sandbox's first accounts to the portal's receivers (so the sandbox's
control endpoint posts to the portal), and is idempotent; the streams `make
run` starts with then fill accounts, users and triggers."""

from __future__ import annotations

from io import StringIO

import pytest
import requests
from django.core.management import call_command

from cobrowse_portal.core import tasks
from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.core.models import (
    Activity,
    VendorAccount,
    VendorAgent,
    WebhookEvent,
)
from cobrowse_portal.vendorkit.runs import execute_stream
from vendors.smartsupp.demo import DEMO_CHATS
from vendors.smartsupp.models import (
    SmartsuppAccount,
    SmartsuppChat,
    SmartsuppOfficeHours,
    SmartsuppUser,
)
from vendors.smartsupp.sandbox.models import Account
from vendors.smartsupp.sandbox.seed import CLIENT_KEY, MAIN_NAME, RESELLER_KEY

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_the_demo_has_smartsupp_chats_and_hooks(live_server, monkeypatch):
    for _ in range(2):
        output = StringIO()
        call_command("demo_setup", size=5, base_url=live_server.url, stdout=output)
    assert f"demo smartsupp: {2 * DEMO_CHATS} finished chats stored" in (
        output.getvalue()
    )
    accounts = VendorAccount.objects.filter(vendor="smartsupp")
    assert {a.workspace.slug for a in accounts} == {"acme-resellers", "globex"}
    desk = accounts.get(workspace__slug="acme-resellers")
    chats = SmartsuppChat.objects.filter(account=desk)
    assert chats.count() == DEMO_CHATS  # idempotent: the same chat ids again
    assert chats.filter(is_missed=True).exists() and chats.filter(is_offline=True)
    assert chats.filter(is_completed=True, agent_name="Alice").exists()
    assert (
        Activity.objects.filter(account=desk, kind=ActivityKind.CHAT).count()
        == DEMO_CHATS
    )
    globex = accounts.get(workspace__slug="globex")
    assert SmartsuppChat.objects.filter(account=globex).count() == DEMO_CHATS
    # Office hours have no documented read: the demo stores the sandbox's, so
    # the Office hours page starts with data (every account of the demo keys).
    hours = SmartsuppOfficeHours.objects.filter(account=desk, removed_at__isnull=True)
    assert hours.count() == Account.objects.filter(owner__key=RESELLER_KEY).count()
    assert hours.count() == 5 and all(h.config for h in hours)
    assert SmartsuppOfficeHours.objects.filter(account=globex).count() == 1

    main = Account.objects.get(title=MAIN_NAME)
    assert main.hook_url == f"{live_server.url}{desk.webhook_path}"
    assert Account.objects.get(owner__key=CLIENT_KEY).hook_url.endswith(
        globex.webhook_path
    )

    # The sandbox's control endpoint now posts to the portal's receiver.
    monkeypatch.setattr(tasks.process_webhook_events, "delay", lambda pk: None)
    answer = requests.post(
        f"{desk.base_url}/accounts/{main.number}/_sandbox/finished-chat",
        headers={"apiKey": RESELLER_KEY},
        json={"seed": 99},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert WebhookEvent.objects.filter(account=desk).count() == 1
    tasks.process_webhook_events(desk.pk)
    assert chats.count() == DEMO_CHATS + 1

    for stream in ("accounts", "users", "triggers"):
        run = execute_stream(desk.pk, stream)
        assert run.status == "succeeded", (stream, run.error)
        if stream == "accounts":  # the demo stored them through its mapping
            assert (run.created, run.updated) == (0, 0), run
    assert SmartsuppAccount.objects.filter(account=desk).count() == 5
    assert SmartsuppUser.objects.filter(account=desk, email="alice@acme.test").exists()
    assert VendorAgent.objects.filter(account=desk).exists()
