"""Serviceform pages on stored rows (no vendor call on render, bounded queries,
filters and keyset pages, roles, another workspace's 404) and the item writes
from the UI against the sandbox over HTTP (create, edit, delete; Serviceform's
messages next to the field; the input kept on a refusal and an outage; kept
edits and deletes when Serviceform is away), the transcript and its refresh."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.models import PendingWrite, VendorAccount
from tests.conftest import sandbox_account
from vendors.serviceform.models import (
    ServiceformChat,
    ServiceformChatStatDay,
    ServiceformItem,
    ServiceformLead,
    ServiceformMessage,
    ServiceformSpace,
)
from vendors.serviceform.sandbox.models import Item as SandboxItem
from vendors.serviceform.sandbox.seed import REQUEST_FIELDS, _fields

from .conftest import SANDBOX, main_chats
from .test_services import VALUES, local_space

HX = {"HTTP_HX_REQUEST": "true"}


def url(name, account, *args, query=""):
    return reverse(f"serviceform:{name}", args=[account.pk, *args]) + query


def text(response) -> str:
    return response.content.decode()


def said(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def offline_account(workspace, name="Serviceform desk") -> VendorAccount:
    account = VendorAccount(
        workspace=workspace,
        vendor="serviceform",
        name=name,
        base_url="https://serviceform.test",
    )
    account.set_credentials({"api_key": "k-offline"})
    account.save()
    return account


@pytest.fixture
def desk(reseller):
    return offline_account(reseller)


@pytest.fixture
def space(desk):
    return ServiceformSpace.objects.create(
        account=desk,
        external_id="sp1",
        name="Service requests",
        fields=_fields(random.Random(1), REQUEST_FIELDS),
        synced_at=timezone.now(),
    )


def item(space, n, **values) -> ServiceformItem:
    return ServiceformItem.objects.create(
        account=space.account,
        space=space,
        space_external_id=space.external_id,
        external_id=f"it{n}",
        primary_field=f"Job {n}",
        values={"customer": f"Customer {n}", "status": "new", **values},
        updated=timezone.now() - timedelta(hours=n),
        synced_at=timezone.now(),
    )


def chat(account, n, **kw) -> ServiceformChat:
    fields = {
        "external_id": f"c{n}",
        "visitor_uid": f"v{n}",
        "visitor_name": f"Visitor {n}",
        "agent_name": "Alice Agent",
        "agent_external_id": "a1",
        "is_chatbot": False,
        "status": "ended",
        "started_at": timezone.now() - timedelta(hours=n),
        "duration": 120,
        "rating": 4.0,
        "synced_at": timezone.now(),
    }
    fields.update(kw)
    return ServiceformChat.objects.create(account=account, **fields)


@pytest.fixture
def no_vendor():
    """Any call to Serviceform is recorded (and fails): pages make none."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# --- pages on stored data -----------------------------------------------------------
def test_spaces_and_items_show_the_spaces_fields(
    desk, space, login, personas, no_vendor, django_assert_max_num_queries
):
    for n in range(1, 56):
        item(space, n, services=["repair"] if n % 2 else [], urgent=n == 3)
    c = login(personas["manager"])
    spaces = c.get(url("spaces", desk))
    assert spaces.status_code == 200
    assert "Service requests" in text(spaces) and ">55<" in text(spaces)
    with django_assert_max_num_queries(12):
        first = c.get(url("space_items", desk, space.pk))
    body = text(first)
    assert "Customer" in body and "Status" in body  # columns from the fields
    assert "Job 1<" in body and "Job 51<" not in body and "Older" in body
    assert "Notes" not in body.split("<tbody>")[0]  # a textarea is no column
    nxt = first.context["page"].next_url
    second = c.get(
        nxt if nxt.startswith("/") else url("space_items", desk, space.pk) + nxt
    )
    assert "Job 51<" in text(second)
    with django_assert_max_num_queries(12):
        c.get(nxt if nxt.startswith("/") else url("space_items", desk, space.pk) + nxt)
    assert not no_vendor.calls


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ({"q": "Job 2"}, ["Job 2<"], ["Job 3<"]),
        ({"q": "Customer 3"}, ["Job 3<"], ["Job 2<"]),  # a value's text
        ({"f_urgent": "yes"}, ["Job 3<"], ["Job 2<"]),
        ({"f_services": "repair"}, ["Job 1<", "Job 3<"], ["Job 2<"]),
        ({"f_status": "done"}, ["Job 4<"], ["Job 1<"]),
        ({"updated_from": "2000-01-01", "updated_to": "2000-01-02"}, [], ["Job 1<"]),
    ],
)
def test_item_filters_and_search(desk, space, login, personas, query, shown, hidden):
    for n in range(1, 4):
        item(space, n, services=["repair"] if n % 2 else [], urgent=n == 3)
    item(space, 4, status="done")
    c = login(personas["manager"])
    body = text(c.get(url("space_items", desk, space.pk), query, **HX))
    for s in shown:
        assert s in body
    for h in hidden:
        assert h not in body


def test_chats_list_filters_and_transcript(
    desk, login, personas, no_vendor, django_assert_max_num_queries
):
    for n in range(1, 56):
        chat(desk, n)
    bot = chat(
        desk,
        99,
        is_chatbot=True,
        agent_name="",
        rating=None,
        visitor_name="Robo Fan",
        started_at=timezone.now(),
    )
    c = login(personas["agent"])
    with django_assert_max_num_queries(10):
        first = c.get(url("chats", desk))
    assert first.status_code == 200 and "Older" in text(first)
    assert "Robo Fan" in text(first) and "Visitor 55<" not in text(first)
    only_bots = text(c.get(url("chats", desk), {"kind": "chatbot"}, **HX))
    assert "Robo Fan" in only_bots and "Visitor 1<" not in only_bots
    humans = text(c.get(url("chats", desk), {"kind": "human", "q": "Visitor 2"}))
    assert "Visitor 2<" in humans and "Robo Fan" not in humans
    rated = text(c.get(url("chats", desk), {"min_rating": "4.5"}))
    assert "No chat matches" in rated
    by_agent = text(c.get(url("chats", desk), {"agent": "alice agent"}))
    assert "Visitor 1<" in by_agent and "Robo Fan" not in by_agent
    old = text(c.get(url("chats", desk), {"until": "2000-01-01"}))
    assert "No chat matches" in old
    for i, (sender, words) in enumerate(
        [("visitor", "Hello?"), ("bot", "Hi, I am a bot"), ("agent", "Alice here")]
    ):
        ServiceformMessage.objects.create(
            account=desk,
            chat=bot,
            external_id=f"c99/m{i}",
            message_id=f"m{i}",
            position=i,
            sender=sender,
            text=words,
            author="",
        )
    with django_assert_max_num_queries(10):
        page = c.get(url("chat", desk, bot.pk))
    body = text(page)
    assert (
        body.index("Hello?") < body.index("Hi, I am a bot") < body.index("Alice here")
    )
    assert 'class="message from-bot"' in body and 'class="message from-visitor"' in body
    assert not no_vendor.calls


def test_leads_list_search_and_pages(desk, login, personas, no_vendor):
    for n in range(1, 56):
        ServiceformLead.objects.create(
            account=desk,
            external_id=f"l{n}",
            name=f"Lead {n}",
            email=f"lead{n}@example.com",
            form_name="Contact" if n % 2 else "Quote",
            created=timezone.now() - timedelta(hours=n),
            synced_at=timezone.now(),
        )
    c = login(personas["manager"])
    first = c.get(url("leads", desk))
    assert "Lead 1<" in text(first) and "Lead 55<" not in text(first)
    assert "Older" in text(first)
    found = text(c.get(url("leads", desk), {"q": "lead7@example.com"}))
    assert "Lead 7<" in found and "Lead 1<" not in found
    quotes = text(c.get(url("leads", desk), {"form_name": "quote"}))
    assert "Lead 2<" in quotes and "Lead 1<" not in quotes
    assert not no_vendor.calls


def test_statistics_chart_and_totals(desk, login, personas, no_vendor):
    today = timezone.localdate()
    for n, (chats, bots) in enumerate([(10, 4), (6, 1)]):
        ServiceformChatStatDay.objects.create(
            account=desk,
            external_id=(today - timedelta(days=n)).isoformat(),
            day=today - timedelta(days=n),
            chats=chats,
            chatbot_chats=bots,
            human_chats=chats - bots,
            avg_response_seconds=30.0 * (n + 1),
            rating=4.0 + n,
            synced_at=timezone.now(),
        )
    c = login(personas["manager"])
    r = c.get(url("statistics", desk))
    assert r.status_code == 200
    chart = r.context["chart"]
    assert len(chart["labels"]) == 30 and chart["labels"][-1] == today.isoformat()
    bots = next(d for d in chart["charts"][0]["datasets"] if d["label"] == "Chatbot")
    assert bots["data"][-2:] == [1, 4] and bots["data"][0] is None
    totals = r.context["totals"]
    assert totals["chats"] == 16 and totals["human_chats"] == 11
    # Chat-weighted: (30*10 + 60*6) / 16.
    assert totals["avg_response_seconds"] == pytest.approx(41.25)
    assert 'data-chart="chats"' in text(r) and 'id="stats-data"' in text(r)
    short = c.get(url("statistics", desk), {"since": today.isoformat()})
    assert short.context["totals"]["chats"] == 10
    bad = c.get(url("statistics", desk), {"since": "2026-12-10", "until": "2026-12-01"})
    assert bad.status_code == 200 and "after" in text(bad)
    assert not no_vendor.calls


# --- roles --------------------------------------------------------------------------
def test_roles_agents_read_chats_managers_the_rest(desk, space, login, personas):
    it = item(space, 1)
    ch = chat(desk, 1)
    agent = login(personas["agent"])
    assert agent.get(url("chats", desk)).status_code == 200
    assert agent.get(url("chat", desk, ch.pk)).status_code == 200
    for name, args in [
        ("spaces", ()),
        ("space_items", (space.pk,)),
        ("item_new", (space.pk,)),
        ("item_edit", (it.pk,)),
        ("item_delete", (it.pk,)),
        ("leads", ()),
        ("statistics", ()),
    ]:
        assert agent.get(url(name, desk, *args)).status_code == 403, name
    manager = login(personas["manager"])
    for name, args in [
        ("spaces", ()),
        ("item_edit", (it.pk,)),
        ("item_delete", (it.pk,)),
    ]:
        assert manager.get(url(name, desk, *args)).status_code == 200, name


def test_another_workspace_gets_404(desk, space, login, personas, other_workspace):
    it = item(space, 1)
    ch = chat(desk, 1)
    outsider = login(personas["outsider"])
    for name, args in [
        ("chats", ()),
        ("chat", (ch.pk,)),
        ("spaces", ()),
        ("space_items", (space.pk,)),
        ("item_edit", (it.pk,)),
    ]:
        assert outsider.get(url(name, desk, *args)).status_code == 404, name
    # Nor another account's objects under one's own account.
    theirs = offline_account(other_workspace, "Theirs")
    their_space = ServiceformSpace.objects.create(
        account=theirs, external_id="sp9", name="Theirs"
    )
    own = login(personas["manager"])
    assert own.get(url("space_items", desk, their_space.pk)).status_code == 404


# --- writes against the sandbox ------------------------------------------------------
@pytest.fixture
def live(reseller, sandbox, live_server) -> VendorAccount:
    return sandbox_account(reseller, live_server.url, vendor="serviceform")


def form_data(**extra) -> dict:
    data = {
        "primary_field": "Boiler repair",
        "customer": "Ada Lovelace",
        "status": "in_progress",
        "services": ["repair", "maintenance"],
        "budget": "250",
        "due_date": "2026-12-24",
        "appointment": "2026-12-24T09:30",
        "urgent": "on",
        "contact_email": "ada@example.com",
    }
    data.update(extra)
    return data


@SANDBOX
def test_create_edit_delete_an_item_from_the_ui(live, login, personas):
    space = local_space(live)
    c = login(personas["manager"])
    form = c.get(url("item_new", live, space.pk))
    assert form.status_code == 200 and '<span class="req">*</span>' in text(form)
    r = c.post(url("item_new", live, space.pk), form_data(), follow=True)
    assert "created in Serviceform" in said(r)
    row = ServiceformItem.objects.get(account=live, primary_field="Boiler repair")
    vendor = SandboxItem.objects.get(item_id=row.external_id)
    assert vendor.values["services"] == ["repair", "maintenance"]
    assert vendor.values["budget"] == 250 and vendor.values["urgent"] is True
    assert vendor.values["appointment"].endswith("Z")
    # Edit: the form holds the stored values; a cleared field is cleared.
    edit = c.get(url("item_edit", live, row.pk))
    assert 'value="Ada Lovelace"' in text(edit)
    r = c.post(
        url("item_edit", live, row.pk),
        form_data(status="done", budget="", primary_field="Boiler fixed"),
        follow=True,
    )
    assert "saved in Serviceform" in said(r)
    vendor.refresh_from_db()
    assert vendor.primary_field == "Boiler fixed" and vendor.values["status"] == "done"
    assert "budget" not in vendor.values
    # Refresh: read again from Serviceform (GET one item).
    SandboxItem.objects.filter(pk=vendor.pk).update(primary_field="Changed there")
    r = c.post(url("item_refresh", live, row.pk), follow=True)
    assert "Changed there" in text(r)
    # Delete, after a confirmation.
    assert c.post(url("item_delete", live, row.pk)).status_code == 422
    r = c.post(url("item_delete", live, row.pk), {"confirm": "on"}, follow=True)
    assert "deleted" in said(r)
    assert not SandboxItem.objects.filter(pk=vendor.pk).exists()
    assert ServiceformItem.objects.get(pk=row.pk).removed_at is not None


@SANDBOX
def test_serviceforms_messages_show_next_to_the_field_and_keep_the_input(
    live, login, personas
):
    space = local_space(live)
    # The portal's copy of the space is behind Serviceform's: an option the
    # vendor no longer has reaches it and is refused there.
    fields = space.fields
    status = next(f for f in fields if f["machine"] == "status")
    status["options"].append({"machine": "gone", "label": "Gone", "value": "gone"})
    ServiceformSpace.objects.filter(pk=space.pk).update(fields=fields)
    c = login(personas["manager"])
    before = SandboxItem.objects.count()
    r = c.post(url("item_new", live, space.pk), form_data(status="gone"))
    assert r.status_code == 422
    assert r.context["form"].errors["status"] == ["Not one of the options."]
    assert 'value="Ada Lovelace"' in text(r) and 'value="gone" selected' in text(r)
    assert SandboxItem.objects.count() == before


@SANDBOX
def test_a_create_while_serviceform_is_away_keeps_the_input(live, login, personas):
    space = local_space(live)
    c = login(personas["manager"])
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        r = c.post(url("item_new", live, space.pk), form_data())
    assert r.status_code == 503 and "not answering" in text(r)
    assert 'value="Boiler repair"' in text(r)
    assert not PendingWrite.objects.exists()  # a create is never replayed


@SANDBOX
def test_edits_and_deletes_are_kept_when_serviceform_is_away(live, login, personas):
    space = local_space(live)
    from vendors.serviceform import services

    row = services.create_item(live, space, primary_field="Job", values=VALUES)
    c = login(personas["manager"])
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        r = c.post(
            url("item_edit", live, row.pk),
            form_data(primary_field="Job renamed"),
            follow=True,
        )
        assert "will be retried automatically" in text(r)
        # The list and the form show the waiting change.
        listing = text(c.get(url("space_items", live, space.pk)))
        assert "Job renamed" in listing and "change waiting" in listing
        assert 'value="Job renamed"' in text(c.get(url("item_edit", live, row.pk)))
        r = c.post(url("item_delete", live, row.pk), {"confirm": "on"}, follow=True)
        assert "saved and will be sent after them" in text(r)
    kept = PendingWrite.objects.filter(account=live).order_by("pk")
    assert [w.action for w in kept] == [
        "vendors.serviceform.services.update_item",
        "vendors.serviceform.services.delete_item",
    ]
    assert kept[0].kwargs["values"]["status"] == "in_progress"
    assert SandboxItem.objects.filter(item_id=row.external_id).exists()


@SANDBOX
def test_a_transcript_is_read_again_from_serviceform(live, login, personas):
    vendor_chat = main_chats().order_by("started").first()
    ch = ServiceformChat.objects.create(
        account=live,
        external_id=vendor_chat.cid,
        visitor_uid=vendor_chat.uid,
        started_at=vendor_chat.started,
        synced_at=timezone.now(),
    )
    c = login(personas["agent"])
    assert "No messages stored" in text(c.get(url("chat", live, ch.pk)))
    r = c.post(url("chat_refresh", live, ch.pk), follow=True)
    assert "read again" in said(r)
    first = vendor_chat.messages[0]["message"]
    assert first in text(r)
    assert ServiceformMessage.objects.filter(chat=ch).count() == len(
        vendor_chat.messages
    )


def test_day_helpers():
    from vendors.serviceform.forms import day_end, day_start

    assert (day_end(date(2026, 1, 1)) - day_start(date(2026, 1, 1))).days == 1
