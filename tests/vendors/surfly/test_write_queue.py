"""Kept writes of one object replay in order, merged into the user's last intent;
pages show the intended value meanwhile; a person waits for one quick try only.

The vendor is `responses` (see fake_api.py): `mocked.calls` is every request the
faked Surfly received, in order, retries included (responses replays urllib3's
retry policy), so the tests assert exactly what reached the vendor.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from cobrowse_portal.core.choices import WriteStatus
from cobrowse_portal.core.models import PendingWrite
from cobrowse_portal.core.tasks import retry_pending_write
from cobrowse_portal.core.writes import defer
from cobrowse_portal.vendorkit.http import QUICK_TIMEOUT
from vendors.surfly import services
from vendors.surfly.models import SurflyAgent, SurflyClient

from .fake_api import AGENT, on

HX = {"HTTP_HX_REQUEST": "true"}


def surfly_url(name, account, *args):
    return reverse(f"surfly:{name}", args=[account.pk, *args])


def sent(mocked) -> list[tuple[str, str, dict | None]]:
    """(method, path, JSON body) of every request the faked Surfly received."""
    out = []
    for call in mocked.calls:
        path = call.request.path_url.split("?")[0].removeprefix("/v2/")
        body = json.loads(call.request.body) if call.request.body else None
        out.append((call.request.method, path, body))
    return out


def replay_all(account) -> None:
    """Run every kept write's task, newest first (the worst order for the queue)."""
    for pk in (
        PendingWrite.objects.filter(account=account)
        .values_list("pk", flat=True)
        .order_by("-id")
    ):
        retry_pending_write(pk)


def test_rename_rename_toggle_while_down_ends_with_the_last_name_and_the_toggle(
    personas, login, account, agent, mocked
):
    down = on(mocked, "PUT", "agents/42/", status=503)
    client = login(personas["manager"])
    edit = surfly_url("agent_edit", account, agent.pk)
    first = client.post(edit, {"username": "Bob", "role": "agent", "available": "on"})
    assert first.status_code == 302
    second = client.post(
        edit, {"username": "Carol", "role": "agent", "available": "on"}
    )
    assert second.status_code == 302
    text = " ".join(str(m) for m in get_messages(second.wsgi_request))
    assert "will be sent after them" in text
    toggled = client.post(surfly_url("agent_toggle", account, agent.pk), **HX)
    assert toggled.status_code == 422  # the row says the change is kept
    assert "Carol" in toggled.content.decode()
    # Only the first write reached Surfly, once; the others joined its queue.
    assert sent(mocked) == [
        ("PUT", "agents/42/", {"username": "Bob", "available": True, "role": "agent"})
    ]

    # One write carries the user's last intent; the older ones are merged into it.
    live = PendingWrite.objects.get(account=account, status=WriteStatus.PENDING)
    assert live.kwargs == {"username": "Carol", "role": "agent", "available": False}
    merged = PendingWrite.objects.filter(status=WriteStatus.SUPERSEDED)
    assert sorted(m.superseded_by_id for m in merged) == [live.pk, live.pk]
    # The local row still holds Surfly's state.
    agent.refresh_from_db()
    assert (agent.name, agent.available) == ("Alice", True)

    # Surfly is back; every task runs, newest first.
    mocked.remove(down)
    on(
        mocked,
        "PUT",
        "agents/42/",
        json={**AGENT, "agent_name": "Carol", "available": False},
    )
    mocked.calls.reset()
    replay_all(account)
    assert sent(mocked) == [
        (
            "PUT",
            "agents/42/",
            {"username": "Carol", "available": False, "role": "agent"},
        )
    ]
    agent.refresh_from_db()
    assert (agent.name, agent.available) == ("Carol", False)
    assert not PendingWrite.objects.filter(status=WriteStatus.PENDING).exists()
    assert PendingWrite.objects.filter(status=WriteStatus.SUCCEEDED).count() == 1


def test_the_agents_page_shows_the_pending_name_while_surfly_is_down(
    personas, login, account, agent, mocked
):
    on(mocked, "PUT", "agents/42/", status=504)
    client = login(personas["manager"])
    client.post(
        surfly_url("agent_edit", account, agent.pk),
        {"username": "Bob", "role": "agent"},  # and unavailable
    )
    page = client.get(surfly_url("agents", account)).content.decode()
    assert "Bob" in page and "change pending" in page
    assert "(Surfly: Alice)" in page  # what Surfly still has
    assert "Set available" in page  # the intended availability
    # The edit form starts from the intended values too.
    form = client.get(surfly_url("agent_edit", account, agent.pk)).content.decode()
    assert 'value="Bob"' in form
    assert SurflyAgent.objects.get(pk=agent.pk).name == "Alice"  # nothing saved


def test_a_toggle_while_a_rename_is_pending_uses_the_pending_name(
    account, agent, mocked
):
    defer(
        account,
        services.update_agent,
        target=agent,
        kwargs={"username": "Bob", "available": True},
        description="Rename",
    )
    on(
        mocked,
        "PUT",
        "agents/42/",
        body={"username": "Bob", "available": False},
        json={**AGENT, "agent_name": "Bob", "available": False},
    )
    services.toggle_availability(account, SurflyAgent.objects.get(pk=agent.pk))


@override_settings(VENDOR_MAX_RETRIES=2, VENDOR_BACKOFF_MAX=0.01)
def test_the_first_answer_when_surfly_is_down_is_one_quick_try(
    personas, login, account, agent, mocked
):
    on(mocked, "PUT", "agents/42/", status=503)
    client = login(personas["manager"])
    response = client.post(
        surfly_url("agent_edit", account, agent.pk),
        {"username": "Bob", "role": "agent"},
    )
    assert response.status_code == 302
    assert len(mocked.calls) == 1  # no HTTP retries while a person waits
    assert mocked.calls[0].request.req_kwargs["timeout"] == QUICK_TIMEOUT
    assert PendingWrite.objects.filter(status=WriteStatus.PENDING).count() == 1

    # The background replay keeps the normal retries.
    mocked.calls.reset()
    retry_pending_write(PendingWrite.objects.get().pk)
    assert len(mocked.calls) == 1 + 2


@override_settings(VENDOR_MAX_RETRIES=2, VENDOR_BACKOFF_MAX=0.01)
def test_a_one_click_write_makes_one_quick_try_too(
    personas, login, account, agent, mocked
):
    on(mocked, "DELETE", "agents/42/", status=502)
    login(personas["manager"]).post(surfly_url("agent_delete", account, agent.pk))
    assert len(mocked.calls) == 1
    assert PendingWrite.objects.get().action.endswith("delete_agent")


def test_a_later_write_cannot_overtake_an_earlier_one(account, client_row, mocked):
    earlier = defer(
        account,
        services.rename_client,
        target=client_row,
        kwargs={"company_name": "Globex Two"},
        description="Rename",
    )
    later = defer(
        account,
        services.set_client_domains,
        target=client_row,
        kwargs={"domains": ["two.test"]},
        description="Domains",
    )
    # The later write's task comes first: it must not reach Surfly.
    assert retry_pending_write(later.pk).startswith("waiting for earlier change")
    assert len(mocked.calls) == 0
    later.refresh_from_db()
    assert later.status == WriteStatus.PENDING and later.attempts == 0

    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        json={"company_name": "Globex Two", "client_key": "ck-globex"},
    )
    on(mocked, "POST", "clients/all/ck-globex/", json={"domains": "two.test"})
    # The earlier one's replay drains the queue in order.
    retry_pending_write(earlier.pk)
    assert sent(mocked) == [
        ("PUT", "clients/all/ck-globex/", {"company_name": "Globex Two"}),
        ("POST", "clients/all/ck-globex/", {"domains": "two.test"}),
    ]
    for write in (earlier, later):
        write.refresh_from_db()
        assert write.status == WriteStatus.SUCCEEDED
    row = SurflyClient.objects.get(pk=client_row.pk)
    assert (row.company_name, row.domains) == ("Globex Two", ["two.test"])
    assert retry_pending_write(later.pk) == "nothing to do"


def test_a_later_write_waits_while_the_earlier_one_still_fails(
    account, client_row, mocked
):
    earlier = defer(
        account,
        services.rename_client,
        target=client_row,
        kwargs={"company_name": "Globex Two"},
        description="Rename",
    )
    later = defer(
        account,
        services.set_client_domains,
        target=client_row,
        kwargs={"domains": ["two.test"]},
        description="Domains",
    )
    with override_settings(VENDOR_MAX_RETRIES=0):
        on(mocked, "PUT", "clients/all/ck-globex/", status=503)
        assert retry_pending_write(earlier.pk).startswith("will retry")
        assert retry_pending_write(later.pk).startswith("waiting")
    assert [m for m, _, _ in sent(mocked)] == ["PUT"]  # the POST never went out


def test_a_delete_supersedes_the_pending_edits(personas, login, account, agent, mocked):
    on(mocked, "PUT", "agents/42/", status=503)
    client = login(personas["manager"])
    client.post(
        surfly_url("agent_edit", account, agent.pk),
        {"username": "Bob", "role": "agent"},
    )
    client.post(surfly_url("agent_delete", account, agent.pk))
    assert len(mocked.calls) == 1  # the delete queued behind the edit, unsent
    live = PendingWrite.objects.get(status=WriteStatus.PENDING)
    assert live.action.endswith("delete_agent")
    assert PendingWrite.objects.get(status=WriteStatus.SUPERSEDED).superseded_by == live
    page = client.get(surfly_url("agents", account)).content.decode()
    assert "deletion pending" in page

    mocked.calls.reset()
    on(mocked, "DELETE", "agents/42/", json={"response": "Agent was deleted"})
    replay_all(account)
    assert sent(mocked) == [("DELETE", "agents/42/", None)]


def test_option_changes_merge_key_by_key(account):
    first = defer(
        account,
        services.update_options,
        kwargs={"changes": {"videochat": True, "language": "en"}},
        description="a",
    )
    second = defer(
        account,
        services.update_options,
        kwargs={"changes": {"language": "nl"}},
        description="b",
    )
    first.refresh_from_db()
    assert first.status == WriteStatus.SUPERSEDED
    assert second.kwargs == {"changes": {"videochat": True, "language": "nl"}}


def test_the_account_page_reads_merged_and_queued_writes_sensibly(
    personas, login, account, client_row, mocked
):
    on(mocked, "PUT", "clients/all/ck-globex/", status=504)
    client = login(personas["manager"])
    edit = surfly_url("client_edit", account, client_row.pk)
    client.post(edit, {"company_name": "One"})
    client.post(edit, {"company_name": "Two"})
    later = defer(
        account,
        services.set_client_domains,
        target=client_row,
        kwargs={"domains": ["two.test"]},
        description="Set domains of Globex",
    )
    page = client.get(reverse("core:account_detail", args=[account.pk]))
    text = page.content.decode()
    assert "Rename client Globex to Two" in text
    assert (
        "Includes 1 earlier change to the same object: Rename client Globex to One"
        in text
    )
    assert "Runs after an earlier change to the same object" in text
    assert "Rename client Globex to One</td>" not in text  # not listed on its own

    # "Retry now" on the later write replays the queue from its head.
    response = client.post(
        reverse("core:pending_write", args=[account.pk, later.pk, "retry"])
    )
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Retrying now: Rename client Globex to Two, then Set domains" in text


def test_a_write_on_an_object_with_a_queue_does_not_call_surfly(account, agent, mocked):
    """Even with Surfly answering again, a new write joins the queue (it would
    otherwise overtake the kept one, which then replays a stale value)."""
    from cobrowse_portal.core.vendorforms import Write
    from cobrowse_portal.core.writes import QueuedBehind

    defer(
        account,
        services.update_agent,
        target=agent,
        kwargs={"username": "Bob", "available": True},
        description="Rename",
    )
    write = Write(
        account,
        services.update_agent,
        "Toggle",
        agent,
        {"username": "Bob", "available": False},
    )
    with pytest.raises(QueuedBehind):
        write.run()
    assert len(mocked.calls) == 0


def test_a_write_merged_while_its_replay_is_under_way_stays_merged(
    account, client_row, mocked
):
    from responses import matchers

    from .fake_api import BASE, KEY

    kept = defer(
        account,
        services.rename_client,
        target=client_row,
        kwargs={"company_name": "One"},
        description="Rename to One",
    )
    typed_again = []

    def surfly(request):
        name = json.loads(request.body)["company_name"]
        if not typed_again:  # the user renames again while the call is under way
            typed_again.append(
                defer(
                    account,
                    services.rename_client,
                    target=client_row,
                    kwargs={"company_name": "Two"},
                    description="Rename to Two",
                )
            )
        body = {"company_name": name, "client_key": "ck-globex"}
        return 200, {}, json.dumps(body)

    mocked.add_callback(
        "PUT",
        f"{BASE}/clients/all/ck-globex/",
        callback=surfly,
        content_type="application/json",
        match=[matchers.query_param_matcher({"api_key": KEY})],
    )
    retry_pending_write(kept.pk)
    # The drain goes on with the newer write, so the last intent wins.
    assert [body for _, _, body in sent(mocked)] == [
        {"company_name": "One"},
        {"company_name": "Two"},
    ]
    kept.refresh_from_db()
    assert kept.status == WriteStatus.SUPERSEDED
    assert kept.superseded_by == typed_again[0]
    typed_again[0].refresh_from_db()
    assert typed_again[0].status == WriteStatus.SUCCEEDED
    assert SurflyClient.objects.get(pk=client_row.pk).company_name == "Two"


def test_an_overdue_earlier_write_is_replayed_first_by_the_later_ones_task(
    account, client_row, mocked
):
    """If the earlier write's own task got lost, the later one's task does not wait
    forever: it replays the queue from the head, still in order."""
    earlier = defer(
        account,
        services.rename_client,
        target=client_row,
        kwargs={"company_name": "Globex Two"},
        description="Rename",
    )
    later = defer(
        account,
        services.set_client_domains,
        target=client_row,
        kwargs={"domains": ["two.test"]},
        description="Domains",
    )
    PendingWrite.objects.filter(pk=earlier.pk).update(next_attempt_at=None)
    on(
        mocked,
        "PUT",
        "clients/all/ck-globex/",
        json={"company_name": "Globex Two", "client_key": "ck-globex"},
    )
    on(mocked, "POST", "clients/all/ck-globex/", json={"domains": "two.test"})
    retry_pending_write(later.pk)
    assert [m for m, _, _ in sent(mocked)] == ["PUT", "POST"]
    assert set(PendingWrite.objects.values_list("status", flat=True)) == {
        WriteStatus.SUCCEEDED
    }
