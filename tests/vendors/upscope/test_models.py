"""Upscope models: one row per vendor id and account, the control room's index
written in the same transaction as the vendor rows (or neither), the visitor
names a session sync copies, and the indexes the pages read through."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core.models import Activity, UsageDay, VendorAgent
from cobrowse_portal.vendorkit import activity as index
from cobrowse_portal.vendorkit.bulk import upsert
from tests.core.conftest import make_account
from vendors.upscope.models import (
    UpscopeAgent,
    UpscopeSession,
    UpscopeUsage,
    UpscopeVisitor,
)

from .control_room import (
    T0,
    agent_row,
    session_row,
    upscope_spec,  # noqa: F401 - a fixture
)


@pytest.fixture
def account(reseller, upscope_spec):  # noqa: F811 - the fixture
    return make_account(
        reseller, "Upscope", vendor="upscope", base_url="https://api.upscope.io/v1.3"
    )


@pytest.fixture
def other(reseller, upscope_spec):  # noqa: F811 - the fixture
    return make_account(
        reseller, "Upscope 2", vendor="upscope", base_url="https://api.upscope.io/v1.3"
    )


def visitor_row(short_id="1234", **extra) -> dict:
    row = {
        "external_id": short_id,
        "lookup_code": "4821",
        "call_name": "",
        "email": "",
        "unique_id": "",
        "identities": [],
        "tags": ["#VIP"],
        "is_online": True,
        "last_seen_at": T0,
    }
    row.update(extra)
    row["raw"] = {k: str(v) for k, v in row.items() if k != "raw"}
    return row


# --- uniqueness -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, fields",
    [
        (UpscopeVisitor, {}),
        (UpscopeSession, {}),
        (UpscopeAgent, {}),
        (UpscopeUsage, {"taken_at": T0}),
    ],
)
def test_a_vendor_id_is_one_row_per_account(model, fields, account, other):
    model.objects.create(account=account, external_id="x1", **fields)
    model.objects.create(account=other, external_id="x1", **fields)  # another account
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(account=account, external_id="x1", **fields)
    assert model.objects.count() == 2


def test_a_session_repeated_in_one_answer_is_stored_once(account):
    rows = [session_row(1, length=60), session_row(2), session_row(1, length=70)]
    counts = upsert(UpscopeSession, account, rows)
    assert counts.created == 2
    assert UpscopeSession.objects.get(external_id="s_1").duration == 70  # last wins
    assert Activity.objects.get(external_id="s_1").duration == 70
    assert Activity.objects.count() == 2


# --- the index in the vendor write's transaction --------------------------------------
def _failing_write_for(model, monkeypatch):
    original = index.bulk.write_rows

    def write_rows(target, *args, **kwargs):
        if target is model:
            raise RuntimeError("index write failed")
        return original(target, *args, **kwargs)

    monkeypatch.setattr(index.bulk, "write_rows", write_rows)


def test_a_failing_activity_write_stores_no_sessions_either(account, monkeypatch):
    _failing_write_for(Activity, monkeypatch)
    with pytest.raises(RuntimeError):
        upsert(UpscopeSession, account, [session_row(1), session_row(2)])
    assert not UpscopeSession.objects.exists()
    assert not Activity.objects.exists() and not UsageDay.objects.exists()


def test_a_failing_directory_write_stores_no_agents_either(account, monkeypatch):
    _failing_write_for(VendorAgent, monkeypatch)
    with pytest.raises(RuntimeError):
        upsert(UpscopeAgent, account, [agent_row()])
    assert not UpscopeAgent.objects.exists() and not VendorAgent.objects.exists()


def test_a_saved_session_is_indexed_too(account):
    # The single-row path (the session-end post, edits): SyncedModel.save().
    row = UpscopeSession(
        account=account,
        external_id="s_9",
        started_at=T0,
        is_ongoing=True,
        agent_id="u_7",
        agent_name="Ann",
    )
    row.save()
    act = Activity.objects.get(external_id="s_9")
    assert act.status == "live" and act.agent_name == "Ann"
    row.is_ongoing, row.ended_at, row.duration = False, T0, 30
    row.save()
    act.refresh_from_db()
    assert act.status == "ended" and act.duration == 30


def test_visitors_and_usage_feed_no_index(account):
    upsert(UpscopeVisitor, account, [visitor_row()])
    upsert(UpscopeUsage, account, [{"external_id": "h", "taken_at": T0, "raw": {}}])
    assert not Activity.objects.exists() and not VendorAgent.objects.exists()


# --- visitors -------------------------------------------------------------------------
def test_a_visitor_is_named_by_call_name_email_unique_id_or_identity(account):
    cases = {
        "1": ({"call_name": " Eve ", "email": "eve@x.test"}, "Eve"),
        "2": ({"email": "eve@x.test", "unique_id": "c-9"}, "eve@x.test"),
        "3": ({"unique_id": "c-9", "identities": ["Eve E"]}, "c-9"),
        "4": ({"identities": ["", "Eve E"]}, "Eve E"),
        "5": ({}, ""),
    }
    upsert(
        UpscopeVisitor, account, [visitor_row(k, **v) for k, (v, _) in cases.items()]
    )
    for short_id, (_, label) in cases.items():
        assert UpscopeVisitor.objects.get(external_id=short_id).label == label
    assert str(UpscopeVisitor.objects.get(external_id="5")) == "5"


def test_labels_for_reads_the_stored_visitors_in_one_query(account, other):
    rows = [visitor_row(str(i), call_name=f"V {i}") for i in range(30)]
    upsert(UpscopeVisitor, account, rows)
    upsert(UpscopeVisitor, other, [visitor_row("7", call_name="Other's")])
    with CaptureQueriesContext(connection) as ctx:
        labels = UpscopeVisitor.labels_for(account, ["7", "8", "nobody", "", "7"])
    assert len(ctx.captured_queries) == 1
    assert labels == {"7": ("V 7", ["#VIP"]), "8": ("V 8", ["#VIP"])}


# --- the pages' indexes ---------------------------------------------------------------
def _index_columns(model) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c["columns"] for name, c in found.items() if c["index"]}


@pytest.mark.parametrize(
    "model, name, columns",
    [
        (
            UpscopeSession,
            "upscope_sess_start_idx",
            ["account_id", "started_at", "id"],
        ),
        (
            UpscopeSession,
            "upscope_sess_ongoing_idx",
            ["account_id", "started_at", "id"],
        ),
        (
            UpscopeSession,
            "upscope_sess_visitor_idx",
            ["account_id", "visitor_short_id", "started_at", "id"],
        ),
        (
            UpscopeVisitor,
            "upscope_visitor_online_idx",
            ["account_id", "is_online", "last_seen_at", "id"],
        ),
        (UpscopeAgent, "upscope_agent_email_idx", ["account_id", "email"]),
        (UpscopeUsage, "upscope_usage_at_idx", ["account_id", "taken_at"]),
    ],
)
def test_pages_read_through_account_first_indexes(db, model, name, columns):
    assert _index_columns(model).get(name) == columns


def test_the_ongoing_index_holds_only_ongoing_rows():
    (idx,) = [
        i for i in UpscopeSession._meta.indexes if i.name == "upscope_sess_ongoing_idx"
    ]
    assert idx.condition.children == [
        ("is_ongoing", True),
        ("removed_at__isnull", True),
    ]
