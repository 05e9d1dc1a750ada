"""prepared_rows: the ORM's SQL written once per database and number of values,
run with other values, gives the rows the ORM gives."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.core.models import SyncRun, VendorAccount
from cobrowse_portal.core.prepared import prepared_rows
from vendors.surfly.models import SurflyAgent

from .conftest import make_account, make_run


def _query(pks):
    agents = (
        SurflyAgent.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        VendorAccount.objects.filter(pk__in=pks, enabled=True)
        .order_by("pk")
        .values_list("pk", "name")
        .annotate(agents=Subquery(agents))
    )


@pytest.fixture
def accounts(reseller):
    made = [make_account(reseller, f"Desk {i}", key=f"k{i}") for i in range(4)]
    for i, account in enumerate(made):
        for n in range(i):
            SurflyAgent.objects.create(account=account, external_id=f"{i}-{n}")
    return made


def test_rows_match_the_orm_for_other_values(accounts):
    pks = [a.pk for a in accounts]
    for values in (pks[:2], pks[2:], [pks[3], pks[0]], pks[1:], [pks[2]], [9999]):
        got = prepared_rows("test.agents", VendorAccount, _query, values)
        assert [tuple(r) for r in got] == list(_query(values)), values


def test_the_sql_is_written_once_per_number_of_values(accounts, monkeypatch):
    pks = [a.pk for a in accounts]
    built = []

    def build(values):
        built.append(values)
        return _query(values)

    prepared_rows("test.once", VendorAccount, build, pks[:2])
    prepared_rows("test.once", VendorAccount, build, pks[2:])
    prepared_rows("test.once", VendorAccount, build, pks[:3])
    assert len(built) == 2  # two lengths, two compiles; never the real pks
    assert all(v < 0 for values in built for v in values)
    with CaptureQueriesContext(connection) as ctx:
        prepared_rows("test.once", VendorAccount, build, pks[1:3])
    assert len(ctx.captured_queries) == 1


def test_a_value_that_is_not_a_parameter_is_refused(accounts):
    def build(values):
        return VendorAccount.objects.filter(pk__gt=values[0] + 1).values_list("pk")

    with pytest.raises(AssertionError, match="not parameters"):
        prepared_rows("test.bad", VendorAccount, build, [accounts[0].pk])


def _runs_query(values):
    """Dates and datetimes as values, beside an integer and a constant."""
    account_id, since, day = values
    return (
        SyncRun.objects.filter(
            account_id=account_id, queued_at__gte=since, queued_at__date__lte=day
        )
        .exclude(stream="never")
        .order_by("pk")
        .values_list("pk", "stream")
    )


def test_dates_and_datetimes_are_values_too(accounts):
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    account = accounts[0]
    base = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    for hours in range(0, 96, 7):
        make_run(account, stream=f"s{hours}", queued_at=base + timedelta(hours=hours))
    helsinki = ZoneInfo("Europe/Helsinki")
    cases = [
        (account.pk, base, base.date()),
        (account.pk, base + timedelta(hours=20), (base + timedelta(days=2)).date()),
        (account.pk, datetime(2026, 6, 2, 1, 30, tzinfo=helsinki), base.date()),
        (account.pk, base - timedelta(days=9), (base + timedelta(days=9)).date()),
        (accounts[1].pk, base, base.date()),
    ]
    for values in cases:
        got = prepared_rows("test.runs", SyncRun, _runs_query, list(values))
        assert [tuple(r) for r in got] == list(_runs_query(values)), values
