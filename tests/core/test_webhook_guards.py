"""Webhook guards the mutation review found untested: the token is compared whole
(near misses are refused), and an event is applied to its own account only."""

from __future__ import annotations

import pytest
from django.test import Client

from cobrowse_portal.core.models import WebhookEvent
from cobrowse_portal.core.tasks import process_webhook_events
from cobrowse_portal.vendorkit.webhooks import token_matches
from vendors.surfly.models import CobrowseSession

from .conftest import make_account
from .test_webhooks import event, hook_url, post


@pytest.fixture
def account(reseller):
    return make_account(reseller, "Hooked desk")


@pytest.fixture
def hook_client():
    return Client(enforce_csrf_checks=True)  # vendors send no CSRF token


def test_an_event_only_touches_its_own_accounts_session(
    account, other_workspace, hook_client, django_capture_on_commit_callbacks
):
    """Two accounts each have a session "s-shared" (external ids are only unique
    per account): an event delivered to one account changes only that account's
    session. Delivered to each account in turn, so a lookup that ignores the
    account is caught whichever row it happens to find."""
    other = make_account(other_workspace, "Other desk")
    for acc in (account, other):
        CobrowseSession.objects.create(
            account=acc, external_id="s-shared", api_id="s-shared", is_active=True
        )

    def session_of(acc):
        return CobrowseSession.objects.get(account=acc, external_id="s-shared")

    for seq, (target, bystander) in enumerate(((account, other), (other, account))):
        before = session_of(bystander)
        with django_capture_on_commit_callbacks(execute=False):
            response = post(
                hook_client,
                hook_url(target),
                event(5 + seq, "session.ended", session="s-shared", duration=60 + seq),
            )
        assert response.status_code == 202
        assert process_webhook_events(target.pk) == "1 events applied"
        hit = session_of(target)
        assert not hit.is_active and hit.duration == 60 + seq
        assert hit.last_event_sequence == 5 + seq
        after = session_of(bystander)
        assert (after.is_active, after.duration, after.last_event_sequence) == (
            before.is_active,
            before.duration,
            before.last_event_sequence,
        ), f"an event for {target} changed {bystander}'s session"
    assert CobrowseSession.objects.filter(external_id="s-shared").count() == 2


def _other_char(c: str) -> str:
    return "A" if c != "A" else "B"


NEAR_MISSES = {
    "last-char-changed": lambda t: t[:-1] + _other_char(t[-1]),
    "first-char-changed": lambda t: _other_char(t[0]) + t[1:],
    "middle-char-changed": lambda t: (
        t[: len(t) // 2] + _other_char(t[len(t) // 2]) + t[len(t) // 2 + 1 :]
    ),
    "one-char-short": lambda t: t[:-1],
    "half-prefix": lambda t: t[: len(t) // 2],
    "one-char-prefix": lambda t: t[:1],
    "plus-suffix": lambda t: t + "x",
    "doubled": lambda t: t + t,
    "other-case": lambda t: t.swapcase(),
}


@pytest.mark.parametrize("near_miss", NEAR_MISSES.values(), ids=NEAR_MISSES)
def test_a_near_miss_token_is_refused(account, hook_client, near_miss):
    """Compared whole, not on a prefix: tokens that share most characters with the
    real one are refused like any other, and store nothing."""
    real = account.webhook_token
    token = near_miss(real)
    assert token != real
    assert not token_matches(account, token)
    assert post(hook_client, hook_url(account, token), event(1)).status_code == 404
    assert not WebhookEvent.objects.exists()
    # The real token still opens the door (the refusals above are not a blanket no).
    assert token_matches(account, real)
    assert post(hook_client, hook_url(account), event(1)).status_code == 202
