"""The client through a misbehaving Serviceform (the sandbox with 20% faults:
429 with Retry-After, 500, timeouts, malformed JSON): a chat backfill over many
windows, with messages, gets every chat and message exactly once, retrying
POST /chats itself and resuming from the page it saved when a call still
fails; and the client honours the sandbox's rate limit (RateLimited with
Retry-After)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from cobrowse_portal.vendorkit import errors
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from vendors.serviceform.sandbox.seed import MAIN_KEY

from .conftest import SANDBOX, SEED_SIZE, client_for, main_chats

pytestmark = [SANDBOX, pytest.mark.slow]
#: A fault sequence under which some calls fail even after the client's own
#: retry (checked below, so a change that hides failures is noticed).
SEED = 3
FAULTY = override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=1, VENDOR_BACKOFF_MAX=0.2
)


@FAULTY
def test_chat_backfill_with_20_percent_faults_gets_every_chat_once(sandbox):
    chats = main_chats()
    start = chats.order_by("started").first().started
    end = chats.order_by("-started").first().started + timedelta(seconds=1)
    expected = {c.cid: [m["id"] for m in c.messages] for c in chats}
    api = client_for(sandbox)
    set_faults(
        "serviceform",
        MAIN_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=SEED,
    )
    got: dict[str, list[str]] = {}
    duplicates, failures, pages, cursor = 0, 0, 0, None
    try:
        for _ in range(200):
            try:
                for page in api.iter_chats(
                    start, end, limit=15, show_messages=True, resume=cursor
                ):
                    for chat in page.items:
                        duplicates += chat.id in got
                        got[chat.id] = [m.id for m in chat.messages]
                    pages += 1
                    cursor = page.cursor  # saved after the page is stored
                break
            except errors.TransientVendorError:
                failures += 1
        else:
            pytest.fail("never finished")
    finally:
        clear_faults("serviceform", MAIN_KEY)
    assert duplicates == 0
    assert got == expected and len(got) == SEED_SIZE
    assert failures >= 1  # some calls failed even after the client's retry
    assert api.requests_made > pages + failures  # and some were retried inside


@FAULTY
def test_reads_by_get_are_retried_or_raise_a_transient_error(sandbox):
    api = client_for(sandbox)
    set_faults("serviceform", MAIN_KEY, rate_500=1.0)
    try:
        with pytest.raises(errors.TransientVendorError):
            api.list_spaces()
        assert api.requests_made == 2  # the first try and one retry
        set_faults("serviceform", MAIN_KEY, rate_500=0.0, rate_malformed=1.0)
        with pytest.raises(errors.MalformedResponse):
            api.list_leads()
    finally:
        clear_faults("serviceform", MAIN_KEY)
    assert len(api.list_spaces()) == 3


@override_settings(VENDOR_MAX_RETRIES=0, SANDBOX_RATE_LIMIT="2/h")
def test_the_client_honours_the_rate_limit(sandbox):
    api = client_for(sandbox)
    api.list_spaces()
    api.list_spaces()
    with pytest.raises(errors.RateLimited) as caught:
        api.list_spaces()
    assert caught.value.status == 429 and caught.value.retry_after >= 1
    now = main_chats().order_by("started").first().started
    with pytest.raises(errors.RateLimited):
        api.list_chats(now, now + timedelta(days=1))
