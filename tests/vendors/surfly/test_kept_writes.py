"""Idempotent writes Surfly could not take are kept and retried, never lost.

(Creates — a new agent, session, client or webhook — are not replayed: a lost
answer would make a duplicate, so their forms keep the input instead; see
test_views.py::test_transient_failure_keeps_the_input.)
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cobrowse_portal.core.choices import WriteStatus
from cobrowse_portal.core.models import PendingWrite
from cobrowse_portal.core.tasks import retry_pending_write
from cobrowse_portal.core.writes import RETRY_DELAYS
from vendors.surfly.models import SurflyClient

from .fake_api import on


def surfly_url(name, account, *args):
    return reverse(f"surfly:{name}", args=[account.pk, *args])


def test_rename_while_surfly_is_down_is_kept_then_replayed(
    personas, login, account, client_row, mocked
):
    down = on(mocked, "PUT", "clients/all/ck-globex/", status=504)
    client = login(personas["manager"])
    response = client.post(
        surfly_url("client_edit", account, client_row.pk),
        {"company_name": "Typed Name"},
    )
    assert response.status_code == 302
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "is saved and will be retried automatically" in text
    kept = PendingWrite.objects.get(account=account)
    assert kept.status == WriteStatus.PENDING
    assert kept.kwargs == {"company_name": "Typed Name"}
    assert (kept.target_model, kept.target_pk) == ("surfly.SurflyClient", client_row.pk)
    client_row.refresh_from_db()
    assert client_row.company_name == "Globex"  # nothing stored before Surfly agrees

    # Still down: the next try is scheduled further out, the error recorded.
    assert retry_pending_write(kept.pk).startswith("will retry")
    kept.refresh_from_db()
    assert kept.attempts == 1 and kept.status == WriteStatus.PENDING
    assert "504" in kept.last_error and kept.next_attempt_at is not None

    # Surfly is back: the replay goes through and the local row follows.
    mocked.remove(down)
    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        body={"company_name": "Typed Name"},
        json={
            "company_name": "Typed Name",
            "client_key": "ck-globex",
            "agent_count": 2,
        },
    )
    assert retry_pending_write(kept.pk).startswith("succeeded")
    kept.refresh_from_db()
    assert kept.status == WriteStatus.SUCCEEDED and kept.attempts == 2
    assert SurflyClient.objects.get(pk=client_row.pk).company_name == "Typed Name"
    # Done is done: a stray duplicate task does nothing.
    assert retry_pending_write(kept.pk) == "nothing to do"


def test_a_refusal_on_replay_fails_the_write_in_surflys_words(
    personas, login, account, client_row, mocked
):
    down = on(mocked, "PUT", "clients/all/ck-globex/", status=503)
    login(personas["manager"]).post(
        surfly_url("client_edit", account, client_row.pk), {"company_name": "X Corp"}
    )
    kept = PendingWrite.objects.get(account=account)
    mocked.remove(down)
    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        status=400,
        json={"errors": {"company_name": ["This name is taken."]}},
    )
    retry_pending_write(kept.pk)
    kept.refresh_from_db()
    assert kept.status == WriteStatus.FAILED
    assert kept.last_error == "This name is taken."


def test_attempts_run_out(account, client_row, mocked):
    on(mocked, "PUT", "clients/all/ck-globex/", status=502)
    from cobrowse_portal.core.writes import defer
    from vendors.surfly import services

    kept = defer(
        account,
        services.rename_client,
        target=client_row,
        kwargs={"company_name": "Never"},
        description="Rename",
    )
    for _ in RETRY_DELAYS:
        retry_pending_write(kept.pk)
    kept.refresh_from_db()
    assert kept.status == WriteStatus.FAILED
    assert kept.attempts == len(RETRY_DELAYS)


def test_availability_toggle_keeps_the_target_state_not_a_flip(
    personas, login, account, agent, mocked
):
    on(mocked, "PUT", "agents/42/", status=503)
    login(personas["manager"]).post(surfly_url("agent_toggle", account, agent.pk))
    kept = PendingWrite.objects.get(account=account)
    # Replaying twice must leave the agent unavailable, so the value is absolute.
    assert kept.kwargs == {"username": "Alice", "available": False}
    assert kept.action == "vendors.surfly.services.update_agent"


def test_one_click_end_session_is_kept(personas, login, account, mocked):
    from vendors.surfly.models import CobrowseSession

    session = CobrowseSession.objects.create(
        account=account, external_id="s1", api_id="raw1", is_active=True
    )
    on(mocked, "POST", "sessions/raw1/end/", status=500)
    login(personas["agent"]).post(surfly_url("session_end", account, session.pk))
    kept = PendingWrite.objects.get(account=account)
    assert kept.description == f"End session {session}"
    assert kept.created_by == personas["agent"]


def test_account_page_lists_kept_writes_with_retry_and_discard(
    personas, login, account, client_row, mocked
):
    on(mocked, "PUT", "clients/all/ck-globex/", status=504)
    client = login(personas["manager"])
    client.post(
        surfly_url("client_edit", account, client_row.pk), {"company_name": "Later"}
    )
    kept = PendingWrite.objects.get(account=account)
    page = client.get(reverse("core:account_detail", args=[account.pk]))
    assert b"Changes waiting for Surfly" in page.content
    assert b"Rename client Globex to Later" in page.content
    dashboard = client.get(reverse("core:dashboard"))
    assert b"Changes waiting" in dashboard.content

    client.post(reverse("core:pending_write", args=[account.pk, kept.pk, "discard"]))
    kept.refresh_from_db()
    assert kept.status == WriteStatus.DISCARDED
    page = client.get(reverse("core:account_detail", args=[account.pk]))
    assert b"Changes waiting for Surfly" not in page.content
    # Another workspace cannot touch it.
    other = login(personas["outsider"])
    gone = other.post(
        reverse("core:pending_write", args=[account.pk, kept.pk, "retry"])
    )
    assert gone.status_code == 404


def test_only_retryable_functions_can_be_kept(account):
    from cobrowse_portal.core.writes import defer
    from vendors.surfly import services

    with pytest.raises(ValueError, match="not marked @retryable"):
        defer(account, services.create_agent, description="create")


def test_a_tampered_action_name_is_not_run(account):
    kept = PendingWrite.objects.create(
        account=account, action="os.system", kwargs={}, description="evil"
    )
    retry_pending_write(kept.pk)
    kept.refresh_from_db()
    assert kept.status == WriteStatus.FAILED
    assert kept.last_error == "not a retryable action"
