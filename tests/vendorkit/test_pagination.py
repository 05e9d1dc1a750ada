"""The four pagination strategies, resuming from a saved cursor, and refusing a next
link that points at another host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import responses
from responses import matchers

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.pagination import (
    IdCursorPagination,
    NextUrlPagination,
    SkipLimitPagination,
    TimeWindowPagination,
)

from .conftest import BASE

KEY = "demo-key-0123456789"


def q(**params):
    return [matchers.query_param_matcher({"api_key": KEY, **params})]


# --- next URL -------------------------------------------------------------------------
def add_next_pages(mock):
    mock.add(
        responses.GET,
        f"{BASE}/history/",
        match=q(min_date="2026-01-01"),
        json={
            "count": 5,
            "next": f"{BASE}/history/?page=2&api_key={KEY}",
            "results": [{"id": 1}, {"id": 2}],
        },
    )
    mock.add(
        responses.GET,
        f"{BASE}/history/",
        match=q(page="2"),
        json={
            "count": 5,
            "next": f"{BASE}/history/?page=3&api_key={KEY}",
            "results": [{"id": 3}, {"id": 4}],
        },
    )
    mock.add(
        responses.GET,
        f"{BASE}/history/",
        match=q(page="3"),
        json={"count": 5, "next": None, "results": [{"id": 5}]},
    )


def test_next_url_follows_every_page(demo_client):
    with responses.RequestsMock() as mock:
        add_next_pages(mock)
        pages = list(
            NextUrlPagination().pages(
                demo_client, "history/", {"min_date": "2026-01-01"}
            )
        )
    assert [[i["id"] for i in p.items] for p in pages] == [[1, 2], [3, 4], [5]]
    assert pages[0].total == 5
    # The cursor is enough to resume, and never carries the key.
    assert pages[0].cursor == {"next": f"{BASE}/history/?page=2"}
    assert pages[-1].cursor == {"next": None}
    assert all(KEY not in str(p.cursor) for p in pages)


def test_next_url_resumes_from_a_cursor(demo_client):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        add_next_pages(mock)
        pages = list(
            NextUrlPagination().pages(
                demo_client,
                "history/",
                {"min_date": "2026-01-01"},
                resume={"next": f"{BASE}/history/?page=3"},
            )
        )
        assert [c.request.params.get("page") for c in mock.calls] == ["3"]
    assert [i["id"] for i in pages[0].items] == [5]


def test_next_link_to_a_foreign_host_is_refused(demo_client):
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{BASE}/history/",
            json={"next": "https://evil.example/steal?page=2", "results": [{"id": 1}]},
        )
        pager = NextUrlPagination().pages(demo_client, "history/")
        assert next(pager).items == [{"id": 1}]
        with pytest.raises(errors.PermanentVendorError, match="another host"):
            next(pager)
        assert len(mock.calls) == 1  # the key never went to evil.example


@pytest.mark.parametrize(
    "link",
    [
        "http://vendor.test/api/history/?page=2",  # scheme downgrade
        "https://vendor.test:8443/api/history/?page=2",  # other port
        "https://vendor.test.evil.example/api/history/",
    ],
)
def test_next_link_must_keep_scheme_host_and_port(demo_client, link):
    with pytest.raises(errors.PermanentVendorError):
        demo_client.url(link)


def test_bare_list_bodies_are_accepted(demo_client):
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/webhooks/", json=[{"id": 1}])
        pages = list(NextUrlPagination().pages(demo_client, "webhooks/"))
    assert pages[0].items == [{"id": 1}] and pages[0].cursor == {"next": None}


def test_a_non_list_under_the_key_is_malformed(demo_client):
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/webhooks/", json={"results": "oops"})
        with pytest.raises(errors.MalformedResponse):
            list(NextUrlPagination().pages(demo_client, "webhooks/"))


# --- skip/limit with a total ----------------------------------------------------------
def test_skip_limit_pages_until_the_total(demo_client):
    pager = SkipLimitPagination(items_key="rows", limit=2)
    with responses.RequestsMock() as mock:
        for skip, ids in ((0, [1, 2]), (2, [3, 4]), (4, [5])):
            mock.add(
                responses.GET,
                f"{BASE}/subs/",
                match=q(skip=str(skip), limit="2"),
                json={"rows": [{"id": i} for i in ids], "total": 5},
            )
        pages = list(pager.pages(demo_client, "subs/"))
    assert [p.cursor for p in pages] == [{"skip": 2}, {"skip": 4}, {"skip": 5}]
    assert sum(len(p.items) for p in pages) == 5 and pages[0].total == 5


def test_skip_limit_resumes_and_stops_on_an_empty_page(demo_client):
    pager = SkipLimitPagination(items_key="rows", limit=2)
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{BASE}/subs/",
            match=q(skip="4", limit="2"),
            json={"rows": [{"id": 5}]},
        )  # no total given
        mock.add(
            responses.GET,
            f"{BASE}/subs/",
            match=q(skip="5", limit="2"),
            json={"rows": []},
        )
        pages = list(pager.pages(demo_client, "subs/", resume={"skip": 4}))
    assert [len(p.items) for p in pages] == [1, 0]


def test_skip_limit_in_a_post_body(demo_client):
    pager = SkipLimitPagination(
        items_key="rows",
        total_key="count",
        skip_param="skip",
        limit_param="take",
        limit=3,
        in_body=True,
    )
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            f"{BASE}/list",
            match=[matchers.json_params_matcher({"skip": 0, "take": 3, "x": 1})],
            json={"rows": [1, 2, 3], "count": 4},
        )
        mock.add(
            responses.POST,
            f"{BASE}/list",
            match=[matchers.json_params_matcher({"skip": 3, "take": 3, "x": 1})],
            json={"rows": [4], "count": 4},
        )
        pages = list(pager.pages(demo_client, "list", params={"x": 1}, method="POST"))
    assert [p.items for p in pages] == [[1, 2, 3], [4]]


# --- id cursor with has_more ----------------------------------------------------------
def test_id_cursor_pages_and_resumes(demo_client):
    pager = IdCursorPagination(items_key="sessions")
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{BASE}/sessions",
            match=q(),
            json={
                "sessions": [{"id": "a"}, {"id": "b"}],
                "has_more": True,
                "last_id": "b",
            },
        )
        mock.add(
            responses.GET,
            f"{BASE}/sessions",
            match=q(after_id="b"),
            json={"sessions": [{"id": "c"}], "has_more": False},
        )
        pages = list(pager.pages(demo_client, "sessions"))
    assert [p.cursor for p in pages] == [
        {"after": "b"},
        {"after": "c"},
    ]  # last id fallback
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{BASE}/sessions",
            match=q(after_id="c"),
            json={"sessions": [], "has_more": True},
        )  # an empty page ends it
        pages = list(pager.pages(demo_client, "sessions", resume={"after": "c"}))
    assert pages[0].items == [] and pages[0].cursor == {"after": "c"}


# --- time windows ---------------------------------------------------------------------
def test_time_windows_cover_the_range_and_resume(demo_client):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=2, hours=12)
    pager = TimeWindowPagination(
        start_param="startTime",
        end_param="endTime",
        window=timedelta(days=1),
        items_key="items",
    )
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/usage", json={"items": [{"n": 1}]})
        pages = list(pager.pages(demo_client, "usage", start, end))
        windows = [
            (c.request.params["startTime"], c.request.params["endTime"])
            for c in mock.calls
        ]
    assert windows == [
        ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"),
        ("2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"),
        ("2026-01-03T00:00:00+00:00", "2026-01-03T12:00:00+00:00"),  # clipped
    ]
    assert pages[-1].cursor == {"window_start": end.isoformat()}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{BASE}/usage", json={"items": []})
        pages = list(
            pager.pages(
                demo_client,
                "usage",
                start,
                end,
                resume={"window_start": "2026-01-03T00:00:00+00:00"},
            )
        )
        assert len(mock.calls) == 1


@pytest.mark.parametrize(
    ("sent", "read"), [("5", 5), (5, 5), ("n/a", None), (None, None)]
)
def test_skip_limit_reads_a_total_sent_as_text_or_garbage(demo_client, sent, read):
    """SameSurf's example sends `total_rooms` as a string ("123"): it counts as
    the number; a total that is no number is ignored (paging stops on an empty
    page instead)."""
    pager = SkipLimitPagination(items_key="rows", limit=5)
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{BASE}/subs/",
            match=q(skip="0", limit="5"),
            json={"rows": [{"id": i} for i in range(5)], "total": sent},
        )
        if read is None:
            mock.add(
                responses.GET,
                f"{BASE}/subs/",
                match=q(skip="5", limit="5"),
                json={"rows": [], "total": sent},
            )
        pages = list(pager.pages(demo_client, "subs/"))
    assert pages[0].total == read
    assert sum(len(p.items) for p in pages) == 5


def test_a_loop_that_fails_leaves_no_read_ahead_thread_fetching():
    """A stream that raises inside its `for page in prefetch(...)` loop keeps the
    suspended generator alive (the traceback holds it): `stop_prefetching`, which
    every run calls, stops its thread, so no request follows the failure."""
    import threading
    import time

    from cobrowse_portal.vendorkit.pagination import Page, prefetch, stop_prefetching

    fetched = []

    def pages():
        for i in range(1000):
            fetched.append(i)
            time.sleep(0.01)  # a vendor request
            yield Page([i], {"after": i})

    def stream():
        read = prefetch(pages())  # a local of the failing frame (Serviceform's)
        for page in read:
            if page.items == [1]:
                raise RuntimeError("disk full")

    kept = None
    try:
        stream()
    except RuntimeError as exc:
        kept = exc  # as a log record's exc_info holds it: the frame stays alive
    assert kept is not None and kept.__traceback__ is not None
    stop_prefetching()
    assert not [t for t in threading.enumerate() if t.name == "page-prefetch"]
    after = len(fetched)
    time.sleep(0.2)
    assert len(fetched) == after < 10
    stop_prefetching()  # nothing left: a no-op
