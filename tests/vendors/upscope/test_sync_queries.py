"""The sessions stream's per-page reads stay keyed reads as the table grows: no
ORDER BY from a model's default ordering (SQLite would walk an ordered index over
every row of the account instead of the (account, external_id) key)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import sandbox_account
from vendors.upscope.models import UpscopeVisitor

pytestmark = pytest.mark.django_db


def test_visitor_labels_are_read_without_the_models_ordering(reseller):
    account = sandbox_account(reseller, "http://127.0.0.1:1", vendor="upscope")
    assert UpscopeVisitor._meta.ordering
    UpscopeVisitor.objects.create(account=account, external_id="v1", call_name="Ana")
    with CaptureQueriesContext(connection) as queries:
        labels = UpscopeVisitor.labels_for(account, ["v1", "v2"])
    assert labels == {"v1": ("Ana", [])}
    assert all("ORDER BY" not in q["sql"].upper() for q in queries)
