"""The Activity CSV export's exact bytes: on PostgreSQL the database writes the CSV
(`COPY ... TO STDOUT`), elsewhere Python's csv module does; both must give the same
bytes for the same filtered rows (quoting, formula escaping, time zones, NULLs,
tags, order)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cobrowse_portal.core.choices import ActivityKind, ActivityStatus
from cobrowse_portal.core.views import control

from .test_control_pages import (  # noqa: F401  (the autouse fixture empties the index)
    _hand_made_index,
    act,
    body,
    fake_account,
)

ACTIVITY_CSV = reverse("core:activity_csv")
HEADER = ",".join(
    ["vendor", "account", "kind", "id", "status", "started", "ended", "duration_s"]
    + ["agent", "visitor", "url", "title", "tags"]
)
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's"
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def tricky(portal):
    """Rows whose every cell tests a formatting rule, in an Amsterdam workspace
    (DST switch, a 1930 offset with seconds), with the expected cells written out
    by hand; a removed row and another workspace's row that must not appear."""
    ws = portal.reseller
    ws.time_zone = "Europe/Amsterdam"
    ws.save(update_fields=["time_zone"])
    acc = portal.account  # Surfly, "Zebracorn Reseller Desk"
    north = fake_account(ws, 'Desk, "North"', "legacychat")
    formula = fake_account(ws, "=Sum desk", "acme")  # a vendor nobody registered
    desk = "Zebracorn Reseller Desk"
    rows = {}
    rows["open"] = act(
        acc,
        kind=ActivityKind.ROOM,
        external_id="a-1",
        status=ActivityStatus.LIVE,
        started_at=None,
        duration=None,
        title='He said "hi", then left\nand came back',
    )
    expect = {
        "open": [
            "Surfly", desk, "room", "a-1", "live", "", "", "", "", "", "",
            'He said "hi", then left\nand came back', "",
        ],
    }  # fmt: skip
    rows["dst"] = act(
        acc,
        external_id="b-2",
        started_at=utc(2026, 3, 29, 0, 59, 59, 500000),
        ended_at=utc(2026, 3, 29, 1, 0, 0),
        duration=0,
        agent_name="-5",
        visitor="=cmd|' /C calc'!A0",
        url='https://x.test/a?b=1,2&c="q"',
        title="Café, naïve — 東京",
        tags=["VIP", "a,b", 'say "x"'],
    )
    expect["dst"] = [
        "Surfly", desk, "cobrowse", "b-2", "ended",
        "2026-03-29T01:59:59.500000+01:00", "2026-03-29T03:00:00+02:00", "0",
        "'-5", "'=cmd|' /C calc'!A0", 'https://x.test/a?b=1,2&c="q"',
        "Café, naïve — 東京", 'VIP, a,b, say "x"',
    ]  # fmt: skip
    rows["tie"] = act(  # same start as "dst", a higher id: listed first
        acc,
        external_id="+31 6",
        started_at=utc(2026, 3, 29, 0, 59, 59, 500000),
        ended_at=None,
        duration=59,
        agent_name="@agent",
        visitor="\r\nCR",
        url="@home",
        title="\tleading tab",
        tags=["x"],
    )
    expect["tie"] = [
        "Surfly", desk, "cobrowse", "'+31 6", "ended",
        "2026-03-29T01:59:59.500000+01:00", "", "59", "'@agent", "'\r\nCR",
        "'@home", "'\tleading tab", "x",
    ]  # fmt: skip
    rows["1930"] = act(
        north,
        kind=ActivityKind.CHAT,
        external_id="c,3",
        started_at=utc(1930, 6, 1, 12, 0, 0),
        ended_at=utc(1930, 6, 1, 12, 0, 0, 1),
        duration=3600,
        visitor="Zoë ' single",
        tags=["-neg"],
    )
    expect["1930"] = [
        "legacychat", "Desk, \"North\"", "chat", "c,3", "ended",
        "1930-06-01T13:19:32+01:19:32", "1930-06-01T13:19:32.000001+01:19:32",
        "3600", "", "Zoë ' single", "", "", "'-neg",
    ]  # fmt: skip
    rows["summer"] = act(
        formula,
        kind=ActivityKind.VISIT,
        external_id="e-5",
        status=ActivityStatus.QUEUED,
        started_at=utc(2026, 7, 1, 10, 0, 0),
        duration=86400,
        agent_name="Ann",
        title="plain",
    )
    # Tags stored as a lone JSON string (no writer of ours does): it stands for
    # itself on both paths.
    type(rows["summer"]).objects.filter(pk=rows["summer"].pk).update(tags="=solo")
    expect["summer"] = [
        "acme", "'=Sum desk", "visit", "e-5", "queued",
        "2026-07-01T12:00:00+02:00", "", "86400", "Ann", "", "", "plain", "'=solo",
    ]  # fmt: skip
    act(acc, title="removed café", removed_at=timezone.now() - timedelta(days=1))
    act(portal.other_account, title="Initech café")
    return expect


def as_csv(rows: list[list[str]]) -> str:
    """The reference bytes: Python's csv module (QUOTE_MINIMAL, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    return buffer.getvalue()


CASES = [
    ({}, ["open", "summer", "tie", "dst", "1930"]),
    ({"tag": "vip"}, ["dst"]),
    ({"q": "café"}, ["dst"]),
    ({"vendor": "legacychat"}, ["1930"]),
    ({"since": "2026-03-29", "until": "2026-03-29"}, ["tie", "dst"]),
    ({"min_minutes": "60"}, ["summer", "1930"]),
    ({"status": "live"}, ["open"]),
    ({"account": "0"}, []),  # an invalid choice: shown, not applied
]


@pytest.mark.parametrize("query, names", CASES)
def test_csv_bytes_are_exact_on_every_path(
    portal, client, tricky, monkeypatch, query, names
):
    client.force_login(portal.personas["manager"])
    if query == {"account": "0"}:
        names = CASES[0][1]
    expected = as_csv([tricky[n] for n in names])
    served = body(client.get(ACTIVITY_CSV, query))
    assert served == expected
    # Python's path for the same request (on PostgreSQL the served one was COPY's).
    monkeypatch.setattr(control, "csv_by_copy", lambda *args: False)
    assert body(client.get(ACTIVITY_CSV, query)) == expected


def test_csv_reference_bytes(portal, client, tricky):
    """A few literal fragments, so the reference itself is pinned too."""
    client.force_login(portal.personas["manager"])
    served = body(client.get(ACTIVITY_CSV)).encode()
    assert served.startswith(HEADER.encode() + b"\r\nSurfly,")
    assert b',"He said ""hi"", then left\nand came back",\r\n' in served
    assert b",\"'\r\nCR\",'@home,'\tleading tab,x\r\n" in served
    assert "Café, naïve — 東京".encode() in served
    assert b'legacychat,"Desk, ""North""",chat,"c,3",' in served
    assert served.count(b"\r\n") == 1 + 5 + 1  # header, 5 rows, one CRLF in a cell


@on_postgres
def test_postgres_csv_is_written_by_copy(portal, client, tricky, monkeypatch):
    def no_python(*args, **kwargs):
        raise AssertionError("the Python path ran on PostgreSQL")

    monkeypatch.setattr(control, "python_csv_lines", no_python)
    client.force_login(portal.personas["manager"])
    assert body(client.get(ACTIVITY_CSV)) == as_csv([tricky[n] for n in CASES[0][1]])


@on_postgres
def test_postgres_csv_falls_back_for_a_zone_the_database_lacks(
    portal, client, tricky, monkeypatch
):
    """A zone Python knows and PostgreSQL does not: the Python path writes it."""
    monkeypatch.setattr(control, "_database_knows_zone", lambda *args: False)
    client.force_login(portal.personas["manager"])
    assert body(client.get(ACTIVITY_CSV, {"vendor": "legacychat"})) == as_csv(
        [tricky["1930"]]
    )


@on_postgres
@pytest.mark.django_db(transaction=True)  # autocommit, as a served request
def test_postgres_csv_closed_early_frees_the_connection(
    portal, client, tricky, monkeypatch
):
    """A client gone mid-download: the server closes the response, which cancels
    the COPY, and the connection serves the next query (psycopg holds the
    connection's lock while a COPY is open)."""
    client.force_login(portal.personas["manager"])
    monkeypatch.setattr(control, "CSV_CHUNK", 2)
    response = client.get(ACTIVITY_CSV)
    chunks = iter(response.streaming_content)
    assert next(chunks).decode() == HEADER + "\r\n"
    assert next(chunks).count(b"\r\n") == 2
    response.close()
    assert connection.connection is None or not connection.connection.lock.locked()
    assert type(portal.account).objects.filter(pk=portal.account.pk).exists()
