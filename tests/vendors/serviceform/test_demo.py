"""`make run`'s demo (demo_setup) gives both demo workspaces a Serviceform
sandbox account, and the streams it starts fill every page's data: spaces,
items, leads, chats with messages, statistics (and the control room)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from cobrowse_portal.core.models import Activity, UsageDay, VendorAccount
from cobrowse_portal.vendorkit.runs import execute_stream
from vendors.serviceform.models import (
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformItem,
    ServiceformLead,
    ServiceformMessage,
    ServiceformSpace,
)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_demo_has_a_serviceform_sandbox_account_with_data(live_server):
    for _ in range(2):  # idempotent
        call_command(
            "demo_setup", size=300, base_url=live_server.url, stdout=StringIO()
        )
    accounts = VendorAccount.objects.filter(vendor="serviceform")
    assert {a.workspace.slug for a in accounts} == {"acme-resellers", "globex"}
    for account in accounts:
        for stream in ("spaces", "leads", "chats", "statistics"):
            run = execute_stream(account.pk, stream)
            assert run.status == "succeeded", (account, stream, run.error)
        mine = {"account": account}
        assert ServiceformSpace.objects.filter(**mine).count() == 3
        assert ServiceformItem.objects.filter(**mine).exists()
        assert ServiceformLead.objects.filter(**mine).exists()
        chats = ServiceformChat.objects.filter(**mine)
        assert chats.exists()
        assert ServiceformMessage.objects.filter(**mine).exists()
        assert ServiceformChatStatDay.objects.filter(**mine, chats__gt=0).exists()
        assert UsageDay.objects.filter(account=account).exists()
        assert Activity.objects.filter(account=account).count() == chats.count()
