"""Keyset pages visit every row once, undated rows included, in the same order on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from django.http import QueryDict
from django.utils import timezone

from cobrowse_portal.core.pagination import keyset_page
from vendors.surfly.models import CobrowseSession

from .conftest import make_account


def test_pages_cover_dated_and_undated_rows_exactly_once(reseller):
    account = make_account(reseller, "Pages")
    now = timezone.now()
    for i in range(7):
        CobrowseSession.objects.create(
            account=account, external_id=f"d{i}", start_time=now - timedelta(hours=i)
        )
    for i in range(5):
        CobrowseSession.objects.create(account=account, external_id=f"n{i}")
    qs = CobrowseSession.objects.filter(account=account)
    seen, params = [], QueryDict(mutable=True)
    for _ in range(10):
        page = keyset_page(qs, params, "start_time", size=3)
        seen += [row.external_id for row in page.rows]
        if not page.next_url:
            break
        params = QueryDict(page.next_url[1:], mutable=True)
    assert sorted(seen) == sorted(
        [f"d{i}" for i in range(7)] + [f"n{i}" for i in range(5)]
    )
    assert len(seen) == len(set(seen))
    # Undated first (newest id first), then newest start first.
    assert seen[:5] == [f"n{i}" for i in reversed(range(5))]
    assert seen[5:] == [f"d{i}" for i in range(7)]
