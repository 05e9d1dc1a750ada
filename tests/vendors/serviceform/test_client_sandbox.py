"""Every Serviceform client method against the sandbox over real HTTP: the
production code path (sf-api-key, bare JSON, error mapping, chat windows),
with only the base URL and key of a sandbox account. Plus the lenient readers
of what the docs leave unknown (error bodies, lead paging)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from cobrowse_portal.vendorkit import errors
from vendors.serviceform.client import AUTH_MESSAGE, ServiceformClient, lead_page
from vendors.serviceform.sandbox.models import Item, Lead, Space
from vendors.serviceform.sandbox.seed import CLIENT_KEY, MAIN_KEY
from vendors.serviceform.schemas import FIELD_TYPES, METRICS, SENDERS, Chat
from vendors.serviceform.schemas import Item as ItemSchema

from .conftest import SANDBOX, SEED_SIZE, client_for, main_chats, request_space

pytestmark = SANDBOX

VALID = {
    "primary_field": "Boiler service for Ana",
    "customer": "Ana Lima",
    "notes": "Two lines\nof notes",
    "budget": 250.5,
    "due_date": "2027-01-15",
    "appointment": "2027-01-10T09:30:00.000Z",
    "status": "new",
    "services": ["installation", "repair"],
    "urgent": True,
    "contact_email": "ana@example.com",
    "contact_phone": "+358 40 1234567",
    "website": "https://ana.example.com",
}


def whole_range():
    chats = main_chats()
    first = chats.order_by("started").first().started
    last = chats.order_by("-started").first().started
    return first, last + timedelta(seconds=1)


def test_check_connection_and_spaces_with_every_field_type(api):
    assert api.check_connection() == "API key accepted (3 spaces)"
    spaces = api.list_spaces()
    names = [s.name for s in spaces]
    assert names == ["Service requests", "Products", "Archive (empty)"]
    requests_space = spaces[0]
    assert requests_space.id == request_space().space_id
    assert sorted(f.type for f in requests_space.fields) == sorted(FIELD_TYPES)
    status = requests_space.field("status")
    assert status.is_choice and status.required
    assert status.option_values == ["new", "in_progress", "done"]
    assert [o.label for o in status.options] == ["New", "In progress", "Done"]
    assert requests_space.field("customer").required
    assert not requests_space.field("notes").required
    assert all(f.id and f.name for f in requests_space.fields)
    assert api.requests_made == 2


def test_list_items_of_a_space_and_an_unknown_space(api):
    space = request_space()
    items = api.list_items(space.space_id)
    stored = Item.objects.filter(space=space)
    assert len(items) == stored.count() >= 5
    first = items[0]
    row = stored.get(item_id=first.id)
    assert first.space_id == space.space_id and first.primary_field == row.primary_field
    assert first.values == row.values  # custom values, read from the top level
    assert first.created and first.updated and first.uuid and first.client_id
    with pytest.raises(errors.NotFound):
        api.list_items("no-such-space")
    with pytest.raises(errors.NotFound):
        api.list_items("../leads")  # refused before sending


def test_create_get_update_delete_an_item(api):
    space = request_space().space_id
    made = api.create_item(space, VALID)
    assert made.id and made.primary_field == VALID["primary_field"]
    assert made.values == {k: v for k, v in VALID.items() if k != "primary_field"}
    got = api.get_item(space, made.id)
    assert got.values == made.values and got.created == made.created
    changed = api.update_item(space, made.id, {"status": "done", "notes": None})
    assert changed.values["status"] == "done"
    assert "notes" not in changed.values  # null clears an optional field
    assert changed.values["customer"] == "Ana Lima"  # PUT keeps what was not sent
    assert changed.updated >= made.updated
    assert api.get_item(space, made.id).values == changed.values
    api.delete_item(space, made.id)
    with pytest.raises(errors.NotFound):
        api.get_item(space, made.id)
    with pytest.raises(errors.NotFound):
        api.delete_item(space, made.id)
    with pytest.raises(errors.NotFound):
        api.update_item(space, made.id, {"status": "new"})


def test_invalid_values_come_back_per_field(api):
    space = request_space().space_id
    bad = {
        **VALID,
        "budget": "lots",
        "status": "maybe",
        "services": ["installation", "juggling"],
        "urgent": "yes",
        "colour": "red",
    }
    del bad["customer"]
    with pytest.raises(errors.PermanentVendorError) as caught:
        api.create_item(space, bad)
    exc = caught.value
    assert exc.status == 422 and exc.vendor_message == "Validation failed"
    assert set(exc.field_errors) == {
        "budget",
        "status",
        "services",
        "urgent",
        "colour",
        "customer",
    }
    assert exc.field_errors["budget"] == ["Must be a number."]
    assert exc.field_errors["status"] == ["Not one of the options."]
    assert exc.field_errors["colour"] == ["Unknown field."]
    assert exc.field_errors["customer"] == ["This field is required."]
    assert not Item.objects.filter(primary_field=VALID["primary_field"]).exists()
    item = Item.objects.filter(space__space_id=space).first()
    with pytest.raises(errors.PermanentVendorError) as caught:
        api.update_item(space, item.item_id, {"status": None})
    assert caught.value.field_errors == {"status": ["This field is required."]}


def test_leads(api):
    leads = api.list_leads()
    stored = Lead.objects.filter(account__api_key=MAIN_KEY)
    assert len(leads) == stored.count() >= 10
    assert [x.id for x in leads] == list(
        stored.order_by("-created", "-pk").values_list("lead_id", flat=True)
    )
    lead = leads[0]
    assert lead.name and "@" in lead.email and lead.phone and lead.message
    assert lead.form and lead.source and lead.created and lead.page_url
    assert lead.space_id == request_space().space_id


def test_chats_of_a_window_with_and_without_messages(api):
    start, end = whole_range()
    plain = api.list_chats(start, end, limit=20)
    assert len(plain) == 20
    expected = list(main_chats().order_by("started", "cid")[:20])
    assert [c.id for c in plain] == [c.cid for c in expected]
    assert all(c.messages == [] for c in plain)
    assert [c.message_count for c in plain] == [c.message_count for c in expected]
    full = api.list_chats(start, end, limit=20, show_messages=True)
    for chat, row in zip(full, expected, strict=True):
        assert chat.started == row.started and chat.ended == row.ended
        assert len(chat.messages) == chat.message_count == row.message_count
        assert [m.text for m in chat.messages] == [m["message"] for m in row.messages]
        assert {m.sender for m in chat.messages} <= set(SENDERS)
        assert chat.chatbot == row.chatbot
        assert chat.agent_name == row.agent_name
    human = next(c for c in full if not c.chatbot)
    assert human.agent_id and human.agent_joined and human.first_response_seconds
    assert any(m.sender == "agent" and m.author for m in human.messages)


def test_chat_filters_uid_chatbot_and_limit(api):
    start, end = whole_range()
    uid = main_chats().order_by("cid").first().uid
    mine = api.list_chats(start, end, uid=uid, limit=500)
    assert {c.uid for c in mine} == {uid}
    assert len(mine) == main_chats().filter(uid=uid).count()
    bots = api.list_chats(start, end, chatbot=True, limit=500)
    assert bots and all(c.chatbot for c in bots)
    assert len(bots) == main_chats().filter(chatbot=True).count()
    assert all(not c.chatbot for c in api.list_chats(start, end, chatbot=False))
    assert len(api.list_chats(start, end, limit=1)) == 1
    assert len(api.list_chats(start, end)) == 100  # the client's default
    assert len(api.list_chats(start, end, limit=10_000)) == SEED_SIZE  # capped at 500
    # The window is [startTime, endTime): a chat at endTime is not in it.
    at = main_chats().order_by("started").first().started
    assert api.list_chats(start, at) == []
    assert {c.id for c in api.list_chats(at, at + timedelta(seconds=1))} == set(
        main_chats().filter(started=at).values_list("cid", flat=True)
    )


def test_chats_paged_across_windows_each_exactly_once(api):
    start, end = whole_range()
    limit = 7
    pages = list(api.iter_chats(start, end, limit=limit))
    got = [c.id for page in pages for c in page.items]
    expected = list(main_chats().values_list("cid", flat=True))
    assert sorted(got) == sorted(expected) and len(got) == len(set(got)) == SEED_SIZE
    # The seed has chats that share their second; some pages were cut there,
    # so the next request started at that same instant (inclusive).
    tied_edges = [p for p in pages if p.cursor["seen"] and len(p.cursor["seen"]) > 1]
    assert tied_edges, "no window edge fell on a shared timestamp"
    assert len(pages) > SEED_SIZE / limit


def test_chat_paging_resumes_after_any_page(api):
    start, end = whole_range()
    pages = list(api.iter_chats(start, end, limit=25))
    every = [c.id for page in pages for c in page.items]
    for cut in (1, len(pages) // 2):
        before = [c.id for page in pages[:cut] for c in page.items]
        resumed = api.iter_chats(start, end, limit=25, resume=pages[cut - 1].cursor)
        after = [c.id for page in resumed for c in page.items]
        assert before + after == every


def test_one_instant_with_more_chats_than_the_limit(api, monkeypatch):
    first = list(main_chats().order_by("started", "cid")[:5])
    at = first[0].started
    main_chats().filter(pk__in=[c.pk for c in first]).update(started=at)
    crowd = main_chats().filter(started=at).count()
    assert crowd >= 5
    # More than `limit` chats at one instant: the client asks again with the
    # maximum limit and gets them all, each once.
    got = [
        c.id
        for page in api.iter_chats(at, at + timedelta(hours=1), limit=1)
        for c in page.items
    ]
    assert sorted(got) == sorted(
        main_chats().filter(started=at).values_list("cid", flat=True)
    )
    # Beyond even the maximum: an error, never a silent loss.
    monkeypatch.setattr("vendors.serviceform.client.MAX_LIMIT", 2)
    with pytest.raises(errors.PermanentVendorError):
        list(api.iter_chats(at, at + timedelta(hours=1), limit=1))


def test_statistics_agree_with_the_transcripts(api):
    start, end = whole_range()
    chats: list[Chat] = [
        c
        for page in api.iter_chats(start, end, limit=200, show_messages=True)
        for c in page.items
    ]
    stats = api.chat_statistics(start, end)
    assert stats.total_chats == len(chats) == SEED_SIZE
    assert stats.totals["chats"] == len(chats)
    assert stats.totals["chatbot_chats"] == sum(c.chatbot for c in chats)
    assert stats.totals["human_chats"] == sum(not c.chatbot for c in chats)
    assert stats.totals["messages"] == sum(len(c.messages) for c in chats)
    durations = [(c.ended - c.started).total_seconds() for c in chats]
    assert stats.totals["avg_duration"] == round(sum(durations) / len(chats), 2)
    rated = [c.rating for c in chats if c.rating is not None]
    assert stats.satisfaction_score == stats.totals["rating"]
    assert stats.totals["rating"] == round(sum(rated) / len(rated), 2)
    responses = [c.first_response_seconds for c in chats if c.first_response_seconds]
    assert stats.average_response_time == round(sum(responses) / len(responses), 2)
    assert sum(stats.by_source.values()) == sum(stats.durations.values()) == len(chats)
    assert sum(a.total_chats for a in stats.by_agent) == stats.totals["human_chats"]
    per_day: dict = {}
    for c in chats:
        per_day[c.started.date()] = per_day.get(c.started.date(), 0) + 1
    assert {d: v["chats"] for d, v in stats.days.items()} == per_day
    assert set(next(iter(stats.days.values()))) == set(METRICS)


def test_statistics_of_chosen_metrics_and_an_empty_window(api):
    start, end = whole_range()
    stats = api.chat_statistics(start, end, metrics=["chats", "messages"])
    assert set(stats.totals) == {"chats", "messages"}
    assert all(set(v) == {"chats", "messages"} for v in stats.days.values())
    with pytest.raises(ValueError):
        api.chat_statistics(start, end, metrics=["bogus"])
    later = timezone.now() + timedelta(days=1)
    empty = api.chat_statistics(later, later + timedelta(days=1))
    assert empty.total_chats == 0 and empty.days == {}
    assert empty.average_response_time is None


def test_a_wrong_key_is_an_auth_error_everywhere(sandbox):
    bad = client_for(sandbox, "sandbox-serviceform-key-9999")
    with pytest.raises(errors.AuthError) as caught:
        bad.list_spaces()
    assert caught.value.status == 403
    assert caught.value.vendor_message.startswith(AUTH_MESSAGE)
    with pytest.raises(errors.AuthError) as caught:
        bad.list_leads()
    assert caught.value.status == 401  # as the leads section documents
    now = timezone.now()
    with pytest.raises(errors.AuthError):
        bad.list_chats(now - timedelta(days=1), now)
    with pytest.raises(errors.AuthError):
        bad.chat_statistics(now - timedelta(days=1), now)


def test_the_client_account_sees_only_its_own_data(sandbox):
    other = client_for(sandbox, CLIENT_KEY)
    mine = {s.id for s in other.list_spaces()}
    assert mine == set(
        Space.objects.filter(account__api_key=CLIENT_KEY).values_list(
            "space_id", flat=True
        )
    )
    with pytest.raises(errors.NotFound):
        other.list_items(request_space().space_id)  # the reseller's space


# --- lenient readers (no HTTP) --------------------------------------------------
class FakeResponse(requests.Response):
    def __init__(self, status: int, content: bytes) -> None:
        super().__init__()
        self.status_code, self._content = status, content
        self.encoding = "utf-8"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "Bad things"}', "Bad things"),
        (b'{"error": "Bad things"}', "Bad things"),
        (b'{"error": {"message": "Bad things"}}', "Bad things"),
        (b"Bad things", "Bad things"),
        (b"<html><body>Bad things</body></html>", None),
        (b"[1, 2]", None),
    ],
)
def test_error_bodies_are_read_leniently(body, message):
    api = ServiceformClient("https://link.serviceform.com", {"api_key": "k"})
    with pytest.raises(errors.PermanentVendorError) as caught:
        api.raise_for_response(FakeResponse(400, body))
    assert caught.value.vendor_message == message


def test_field_errors_in_any_of_the_likely_shapes():
    api = ServiceformClient("https://link.serviceform.com", {"api_key": "k"})
    for body in (
        b'{"errors": {"price": ["Must be a number."]}}',
        b'{"errors": {"price": "Must be a number."}}',
        b'{"errors": [{"field": "price", "message": "Must be a number."}]}',
        b'{"error": {"message": "x", "errors": {"price": ["Must be a number."]}}}',
    ):
        with pytest.raises(errors.PermanentVendorError) as caught:
            api.raise_for_response(FakeResponse(422, body))
        assert caught.value.field_errors == {"price": ["Must be a number."]}, body


def test_lead_pages_bare_or_enveloped():
    assert lead_page([{"id": "a"}, "x"]) == ([{"id": "a"}], None)
    assert lead_page({"id": "a", "email": "e"}) == ([{"id": "a", "email": "e"}], None)
    assert lead_page({"items": [{"id": "a"}], "next": "https://h/leads?page=2"}) == (
        [{"id": "a"}],
        "https://h/leads?page=2",
    )
    assert lead_page({"data": [{"id": "a"}], "page": 1, "pages": 3}) == (
        [{"id": "a"}],
        2,
    )
    assert lead_page({"results": [{"id": "a"}], "page": 3, "pages": 3}) == (
        [{"id": "a"}],
        None,
    )
    assert lead_page({"leads": [], "next": "2"}) == ([], 2)
    with pytest.raises(errors.MalformedResponse):
        lead_page({"nothing": True})


def test_item_values_at_the_top_level_or_nested():
    top = ItemSchema.parse({"id": "i", "primary_field": "P", "price": 3})
    nested = ItemSchema.parse({"id": "i", "values": {"price": 3}})
    fields = ItemSchema.parse({"id": "i", "fields": {"price": 3}, "price": 1})
    assert top.values == nested.values == fields.values == {"price": 3}
