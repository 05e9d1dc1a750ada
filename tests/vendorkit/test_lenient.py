"""The shared lenient readers every vendor's schemas use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cobrowse_portal.vendorkit.lenient import as_bool, as_dt, as_int


@pytest.mark.parametrize(
    "value, expected",
    [(5, 5), ("123", 123), ("12.0", 12), (7.9, 7), (None, None), ("", None),
     (True, None), ("abc", None), ({}, None), (float("inf"), None)],
)  # fmt: skip
def test_as_int(value, expected):
    assert as_int(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(True, True), (False, False), (1, True), (0, False), ("true", True),
     (" Yes ", True), ("on", True), ("false", False), ("0", False), ("", None),
     (None, None)],
)  # fmt: skip
def test_as_bool(value, expected):
    assert as_bool(value) is expected


def test_as_dt_reads_zones_and_takes_a_bare_time_as_utc():
    utc = datetime(2016, 12, 19, 14, 20, 22, tzinfo=UTC)
    assert as_dt("2016-12-19T14:20:22Z") == utc
    assert as_dt("2016-12-19T14:20:22") == utc
    plus2 = as_dt("2016-12-19T16:20:22+02:00")
    assert plus2.utcoffset() == timedelta(hours=2)
    assert plus2 == utc
    given = datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=-5)))
    assert as_dt(given) is given
    for bad in (None, "", "yesterday", 12, True, {}, []):
        assert as_dt(bad) is None
