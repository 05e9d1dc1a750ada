"""`merge.keep_newer` reads the stored rows by (account, external_id) only: no
ORDER BY from the model's default ordering, which SQLite would otherwise serve
by walking an (account, start) index over every row of the account (a backfill's
look-up per page then grows with the table)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cobrowse_portal.vendorkit.merge import Lifecycle, Stage, keep_newer
from tests.conftest import sandbox_account
from vendors.upscope.models import UpscopeSession

pytestmark = pytest.mark.django_db


def _stage(values):
    return Stage(2 if values.get("ended_at") else 1, values.get("ended_at"))


LIFECYCLE = Lifecycle(stage=_stage, fields=("ended_at",))


def test_keep_newer_reads_without_the_models_ordering(reseller):
    account = sandbox_account(reseller, "http://127.0.0.1:1", vendor="upscope")
    assert UpscopeSession._meta.ordering  # the trap: a default ordering
    end = datetime(2026, 12, 1, tzinfo=UTC)
    UpscopeSession.objects.create(account=account, external_id="s_1", ended_at=end)
    with CaptureQueriesContext(connection) as queries:
        rows = keep_newer(
            UpscopeSession,
            account,
            [{"external_id": "s_1", "ended_at": None}],
            LIFECYCLE,
        )
    assert rows == [{"external_id": "s_1", "ended_at": end}]
    assert len(queries) == 1
    assert "ORDER BY" not in queries[0]["sql"].upper()


def test_a_record_twice_in_one_batch_keeps_its_newer_copy(reseller):
    """Pages written in groups: the same record may come twice in one batch. The
    later copy is compared with the earlier one (the write keeps the last), so
    an older later copy never moves the record backwards."""
    account = sandbox_account(reseller, "http://127.0.0.1:1", vendor="upscope")
    end = datetime(2026, 12, 1, tzinfo=UTC)
    rows = keep_newer(
        UpscopeSession,
        account,
        [
            {"external_id": "s_9", "ended_at": end, "n": 1},  # ended (not stored)
            {"external_id": "s_9", "ended_at": None, "n": 2},  # a stale running copy
            {"external_id": "s_8", "ended_at": None, "n": 3},
        ],
        LIFECYCLE,
    )
    assert rows == [
        {"external_id": "s_9", "ended_at": end, "n": 1},
        {"external_id": "s_9", "ended_at": end, "n": 2},  # stage kept, rest pulled
        {"external_id": "s_8", "ended_at": None, "n": 3},
    ]
