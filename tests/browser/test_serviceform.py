"""Serviceform in headless Chromium against the portal and its Serviceform
sandbox: a manager opens a space with a choice field, creates an item through
the form generated from the space's fields, edits it, deletes it, and reads a
chat's transcript.

The space and the chats are stored first as the streams would store them
(the listing's space; chats with their messages), since no worker runs here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import log_in
from tests.conftest import sandbox_account
from vendors.serviceform import services
from vendors.serviceform.models import ServiceformItem, ServiceformSpace
from vendors.serviceform.sandbox.models import Chat as SandboxChat
from vendors.serviceform.sandbox.models import Item as SandboxItem
from vendors.serviceform.sandbox.seed import MAIN_KEY, seed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, databases="__all__"),
]


@pytest.fixture
def account(reseller, live_server):
    seed(size=20, seed=1, reset=True)
    return sandbox_account(reseller, live_server.url, vendor="serviceform")


def store_space(account) -> ServiceformSpace:
    space = next(
        s for s in account.client().list_spaces() if s.name == "Service requests"
    )
    return ServiceformSpace.objects.create(
        account=account,
        external_id=space.id,
        name=space.name,
        fields=space.raw["fields"],
        raw=space.raw,
    )


def store_chats(account) -> SandboxChat:
    """The first human chats with their messages, as the chats stream stores
    them; the one the test reads."""
    first = (
        SandboxChat.objects.filter(account__api_key=MAIN_KEY, chatbot=False)
        .order_by("started")
        .first()
    )
    for chat in account.client().list_chats(
        first.started, first.started + timedelta(days=2), show_messages=True
    ):
        services.store_chat(account, chat)
    return first


def test_manager_creates_edits_deletes_an_item_and_reads_a_transcript(
    page, live_server, personas, account, browser_errors
):
    space = store_space(account)
    vendor_chat = store_chats(account)
    log_in(page, live_server, personas["manager"].username)

    page.goto(live_server.url + reverse("serviceform:spaces", args=[account.pk]))
    page.locator("#spaces").get_by_role("link", name="Service requests").click()
    expect(page.locator("h1")).to_contain_text("Service requests")

    # --- create: the form has a field per space field, required ones marked
    page.click("#item-new")
    form = page.locator("#item-form")
    expect(form.locator("label[for=id_customer] .req")).to_be_visible()
    page.fill("#id_primary_field", "Browser boiler")
    page.fill("#id_customer", "Grace Hopper")
    page.select_option("#id_status", "in_progress")
    form.get_by_role("checkbox", name="Repair", exact=True).check()
    page.fill("#id_budget", "120")
    page.check("#id_urgent")
    form.get_by_role("button", name="Create in Serviceform").click()
    expect(page.locator(".msg").first).to_contain_text("created in Serviceform")
    row = page.locator("#items tr", has_text="Browser boiler")
    expect(row).to_contain_text("In progress")
    expect(row).to_contain_text("Repair")
    vendor = SandboxItem.objects.get(primary_field="Browser boiler")
    assert vendor.values["status"] == "in_progress"
    assert vendor.values["services"] == ["repair"] and vendor.values["urgent"] is True

    # --- edit: a refused value is said next to its field, then corrected
    row.get_by_role("link", name="Browser boiler").click()
    expect(page.locator("#id_customer")).to_have_value("Grace Hopper")
    page.fill("#id_customer", "")
    form.get_by_role("button", name="Save in Serviceform").click()
    expect(page.locator(".field.has-error")).to_contain_text("required")
    page.fill("#id_customer", "Grace B. Hopper")
    page.select_option("#id_status", "done")
    page.locator("#item-form").get_by_role("button", name="Save in Serviceform").click()
    expect(page.locator(".msg").first).to_contain_text("saved in Serviceform")
    row = page.locator("#items tr", has_text="Browser boiler")
    expect(row).to_contain_text("Done")
    expect(row).to_contain_text("Grace B. Hopper")
    vendor.refresh_from_db()
    assert vendor.values["status"] == "done"
    assert vendor.values["customer"] == "Grace B. Hopper"

    # --- delete, after the confirmation
    row.get_by_role("link", name="Browser boiler").click()
    page.click("#item-delete")
    page.check("#id_confirm")
    page.get_by_role("button", name="Delete in Serviceform").click()
    expect(page.locator(".msg").first).to_contain_text("deleted")
    expect(page.locator("#items-results")).not_to_contain_text("Browser boiler")
    assert not SandboxItem.objects.filter(pk=vendor.pk).exists()
    stored = ServiceformItem.objects.get(account=account, external_id=vendor.item_id)
    assert stored.removed_at is not None
    assert space.items.count() == 1

    # --- a chat's transcript, from the chats list
    page.goto(live_server.url + reverse("serviceform:chats", args=[account.pk]))
    page.goto(
        live_server.url
        + reverse("serviceform:chats", args=[account.pk])
        + f"?until={vendor_chat.started.date().isoformat()}"
        f"&since={vendor_chat.started.date().isoformat()}"
    )
    page.locator("#chats tbody tr").last.locator("a").first.click()
    transcript = page.locator("#transcript")
    for message in vendor_chat.messages:
        expect(transcript).to_contain_text(message["message"])
    senders = transcript.locator("li.message")
    expect(senders).to_have_count(len(vendor_chat.messages))
    expect(senders.first).to_have_attribute("data-sender", "visitor")
    # The refused save answered 422 (the form re-rendered with the message):
    # the only failed request, seen as its response and its console line.
    refused = reverse("serviceform:item_edit", args=[account.pk, stored.pk])
    assert [e for e in browser_errors if refused not in e] == []
    assert any(e.startswith("422 ") for e in browser_errors)
