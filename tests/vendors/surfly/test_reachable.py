"""The operations the product had never called, each used through the UI against
the sandbox: a client's and a webhook's "Refresh from Surfly" (get_client,
get_webhook), copying company options from another account (replace_options,
POST: everything is replaced, after a confirm step), and the history page's
"Check against Surfly" (list_sessions, list_history, filter_history)."""

from __future__ import annotations

import re

from tests.conftest import sandbox_account
from vendors.surfly import services
from vendors.surfly.models import (
    CobrowseSession,
    SurflyClient,
    SurflyCompanyOptions,
    SurflyWebhook,
)
from vendors.surfly.sandbox.models import Company, SandboxSession, Webhook
from vendors.surfly.sandbox.seed import CLIENT_KEY, RESELLER_KEY

from .conftest import SANDBOX

pytestmark = SANDBOX


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_refresh_a_client_from_surfly(reseller, live_server, seeded, personas, login):
    account = sandbox_account(reseller, live_server.url)
    globex = Company.objects.get(api_key=CLIENT_KEY)
    stale = SurflyClient.objects.create(
        account=account,
        external_id=globex.client_key,
        company_name="Old name",
        plan="",
        domains=[],
        raw={"client_key": globex.client_key},
    )
    page = login(personas["manager"]).get(f"/v/surfly/{account.pk}/clients/{stale.pk}/")
    assert "Refresh from Surfly" in page.content.decode()

    response = login(personas["manager"]).post(
        f"/v/surfly/{account.pk}/clients/{stale.pk}/refresh/", follow=True
    )
    stale.refresh_from_db()
    assert (stale.company_name, stale.plan) == ("Globex Corporation", "pro")
    assert stale.domains == ["globex.example", "*.globex.example"]
    assert SurflyClient.objects.filter(account=account).count() == 1
    assert "refreshed from Surfly" in _messages(response)


def test_refresh_a_webhook_from_surfly(reseller, live_server, seeded, personas, login):
    account = sandbox_account(reseller, live_server.url)
    hook = Webhook.objects.filter(company__api_key=RESELLER_KEY, enabled=True).first()
    local = SurflyWebhook.objects.create(
        account=account,
        external_id=str(hook.pk),
        url=hook.url,
        category=hook.category,
        enabled=True,
        raw={"id": hook.pk},
    )
    # Surfly switches it off after failed deliveries; the portal does not know yet.
    Webhook.objects.filter(pk=hook.pk).update(enabled=False)
    client = login(personas["manager"])
    assert (
        "Refresh from Surfly"
        in client.get(f"/v/surfly/{account.pk}/webhooks/").content.decode()
    )
    response = client.post(
        f"/v/surfly/{account.pk}/webhooks/{local.pk}/refresh/", follow=True
    )
    local.refresh_from_db()
    assert local.enabled is False and local.switched_off_by_surfly
    assert "switched off at Surfly" in _messages(response)


def _stored_options(account) -> dict:
    return SurflyCompanyOptions.objects.get(account=account).options


def test_copy_company_options_from_another_account_after_a_confirm(
    reseller, live_server, seeded, personas, login
):
    mine = sandbox_account(reseller, live_server.url)
    theirs = sandbox_account(reseller, live_server.url, key=CLIENT_KEY, name="Globex")
    for account in (mine, theirs):
        services.reset_options(account)  # stored here, Surfly's defaults
    services.update_options(theirs, {"videochat": False, "language": "nl"})
    services.update_options(mine, {"start_with_chat_open": True})
    client = login(personas["manager"])
    page = client.get(f"/v/surfly/{mine.pk}/options/").content.decode()
    assert "Copy from another account" in page and "Globex" in page

    url = f"/v/surfly/{mine.pk}/options/copy/"
    confirm = client.post(url, {"source": theirs.pk})
    body = confirm.content.decode()
    assert confirm.status_code == 200
    assert "replaces every company option" in body
    for name in ("videochat", "language", "start_with_chat_open"):
        assert name in body  # the three that change
    reseller_at_surfly = Company.objects.get(api_key=RESELLER_KEY)
    assert reseller_at_surfly.options["start_with_chat_open"] is True  # not yet

    done = client.post(url, {"source": theirs.pk, "confirm": "yes"}, follow=True)
    assert "replaced with those of Surfly: Globex (3 changed)" in _messages(done)
    reseller_at_surfly.refresh_from_db()
    assert reseller_at_surfly.options == _stored_options(theirs)
    assert _stored_options(mine) == _stored_options(theirs)
    assert _stored_options(mine)["start_with_chat_open"] is False


def test_copy_options_only_from_this_workspace(
    reseller, other_workspace, live_server, seeded, personas, login
):
    mine = sandbox_account(reseller, live_server.url)
    foreign = sandbox_account(other_workspace, live_server.url, key=CLIENT_KEY)
    services.reset_options(foreign)
    services.reset_options(mine)
    response = login(personas["manager"]).post(
        f"/v/surfly/{mine.pk}/options/copy/",
        {"source": foreign.pk, "confirm": "yes"},
        follow=True,
    )
    assert "Pick one of this workspace's accounts" in _messages(response)


def test_check_sessions_against_surfly(reseller, live_server, seeded, personas, login):
    account = sandbox_account(reseller, live_server.url)
    at_surfly = SandboxSession.objects.filter(company__api_key=RESELLER_KEY)
    client = login(personas["manager"])
    assert (
        "Check against Surfly"
        in client.get(f"/v/surfly/{account.pk}/history/").content.decode()
    )
    url = f"/v/surfly/{account.pk}/history/check/"

    # Through the history, with the page's filters: only the matching records.
    response = client.post(url, {"how": "history", "tags": "vip"}, follow=True)
    vip = at_surfly.filter(tags_text__contains=",vip,").count()
    assert vip and CobrowseSession.objects.filter(account=account).count() == vip
    assert f"{vip} were not stored here yet" in _messages(response)

    # The full list: everything, in one answer.
    response = client.post(url, {"how": "list"}, follow=True)
    assert CobrowseSession.objects.filter(account=account).count() == at_surfly.count()
    assert f"{at_surfly.count() - vip} were not stored here yet" in _messages(response)

    # The whole history, paged (its records are shorter than the list's, so
    # the first pass rewrites them); then there is nothing left to store.
    # Only a live session can still differ: Surfly reports its running duration,
    # which moves on between two checks a second apart (a loaded CI machine).
    client.post(url, {"how": "history"})
    response = client.post(url, {"how": "history"}, follow=True)
    last = _messages(response).split(f"Surfly has {at_surfly.count()} sessions")[-1]
    live = at_surfly.filter(end_time__isnull=True).count()
    changed = re.match(r": 0 were not stored here yet and (\d+) had changed", last)
    assert last.startswith(" and every one is stored") or (
        changed and int(changed.group(1)) <= live
    ), last
