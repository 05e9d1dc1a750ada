"""Smartsupp streams against the sandbox over HTTP (seeded once per session):
accounts, then per account their users and triggers, a page of accounts per
transaction with the cursor past it; vanished rows marked removed within their
own account only; a no-change re-sync writes nothing; a failed run resumes at
the account after the last page stored; 20% faults store every row once."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.core.choices import RunStatus
from cobrowse_portal.core.models import VendorAgent
from cobrowse_portal.vendorkit.runs import execute_stream, load_cursor
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from tests.conftest import sandbox_account
from vendors.smartsupp import sync
from vendors.smartsupp.models import (
    SmartsuppAccount,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
)
from vendors.smartsupp.sandbox.models import Account, Trigger, User
from vendors.smartsupp.sandbox.seed import MAIN_NAME, RESELLER_KEY

from .conftest import SANDBOX, SEED_SIZE

pytestmark = SANDBOX


def run(account, stream):
    result = execute_stream(account.pk, stream)
    assert result.status == RunStatus.SUCCEEDED, result.error
    return result


def smartsupp(reseller, live_server):
    return sandbox_account(reseller, live_server.url, vendor="smartsupp")


def vendor_accounts():
    return Account.objects.filter(owner__key=RESELLER_KEY)


def vendor_users():
    return User.objects.filter(account__owner__key=RESELLER_KEY)


def sent_paths(monkeypatch, part: str) -> list[str]:
    """The paths of the requests the client sends that contain `part`."""
    seen: list[str] = []
    real = requests.adapters.HTTPAdapter.send

    def send(self, request, **kwargs):
        if part in request.url:
            seen.append(request.path_url)
        return real(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return seen


def written(result) -> int:
    return result.created + result.updated + result.removed


def test_accounts_are_stored_once_and_a_resync_writes_nothing(
    reseller, sandbox, live_server
):
    account = smartsupp(reseller, live_server)
    first = run(account, "accounts")
    stored = SmartsuppAccount.objects.filter(account=account)
    assert first.created == stored.count() == vendor_accounts().count() == SEED_SIZE
    assert first.requests == 1  # one full listing
    main = vendor_accounts().get(title=MAIN_NAME)
    row = stored.get(external_id=str(main.number))
    assert (row.title, row.lang, row.account_key) == (
        main.title,
        main.lang,
        main.account_key,
    )
    assert row.chat_code and main.account_key in row.chat_code
    again = run(account, "accounts")
    assert written(again) == 0 and again.unchanged == SEED_SIZE
    # The client key's account is another key's: never in the reseller's rows.
    assert not stored.filter(title="Globex (sandbox)").exists()


def test_users_and_triggers_of_every_account_then_nothing_to_write(
    reseller, sandbox, live_server
):
    account = smartsupp(reseller, live_server)
    run(account, "accounts")
    users = run(account, "users")
    stored = SmartsuppUser.objects.filter(account=account)
    assert users.created == stored.count() == vendor_users().count() == SEED_SIZE * 10
    assert users.requests == SEED_SIZE  # one listing per account
    for u in vendor_users().filter(account__title=MAIN_NAME):
        row = stored.get(external_id=str(u.number))
        assert row.smartsupp_account.external_id == str(u.account.number)
        assert (row.email, row.fullname, row.nickname, row.role, row.active) == (
            u.email,
            u.fullname,
            u.nickname,
            u.role,
            u.active,
        )
        assert "password" not in row.raw
    alice = stored.get(email="alice@acme.test")
    assert alice.role == "admin" and alice.smartsupp_account.title == MAIN_NAME
    # Users feed the agent directory.
    assert VendorAgent.objects.filter(account=account).count() == stored.count()
    assert VendorAgent.objects.filter(
        account=account, external_id=alice.external_id, name="Alice Admin"
    ).exists()

    triggers = run(account, "triggers")
    stored_t = SmartsuppTrigger.objects.filter(account=account)
    vendor_t = Trigger.objects.filter(account__owner__key=RESELLER_KEY)
    assert triggers.created == stored_t.count() == vendor_t.count() == SEED_SIZE * 2
    sample = vendor_t.order_by("number").first()
    row = stored_t.get(external_id=str(sample.number))
    assert (row.name, row.event, row.constraints, row.active, row.only_once) == (
        sample.name,
        sample.event,
        sample.constraints,
        sample.active,
        sample.only_once,
    )
    assert row.conditions == sample.conditions and row.actions == sample.actions
    assert row.message and row.message == sample.actions[0]["message"]

    for stream in ("accounts", "users", "triggers"):
        assert written(run(account, stream)) == 0, stream
    assert not load_cursor(account.pk, "users")  # a completed run leaves none


def test_users_before_any_accounts_run_list_the_accounts_first(
    reseller, sandbox, live_server
):
    """A new connection's streams are due at once, in no set order."""
    account = smartsupp(reseller, live_server)
    users = run(account, "users")
    assert users.requests == 1 + SEED_SIZE
    assert SmartsuppAccount.objects.filter(account=account).count() == SEED_SIZE
    assert SmartsuppUser.objects.filter(account=account).count() == SEED_SIZE * 10
    assert run(account, "accounts").created == 0


def test_a_change_at_smartsupp_is_written_and_nothing_else(
    reseller, sandbox, live_server
):
    account = smartsupp(reseller, live_server)
    run(account, "accounts")
    run(account, "users")
    bob = vendor_users().get(email="bob@acme.test")
    User.objects.filter(pk=bob.pk).update(fullname="Robert Agent")
    again = run(account, "users")
    assert (again.created, again.updated, again.removed) == (0, 1, 0)
    row = SmartsuppUser.objects.get(account=account, external_id=str(bob.number))
    assert row.fullname == "Robert Agent"
    assert VendorAgent.objects.get(account=account, external_id=row.external_id).name
    assert (
        VendorAgent.objects.get(account=account, external_id=row.external_id).name
        == "Robert Agent"
    )


def test_a_vanished_user_is_removed_in_its_own_account_only(
    reseller, sandbox, live_server
):
    """Reconciling one account's listing never marks another account's users
    removed (the scope), and the directory follows."""
    account = smartsupp(reseller, live_server)
    run(account, "accounts")
    run(account, "users")
    carol = vendor_users().get(email="carol@acme.test")
    User.objects.filter(pk=carol.pk).delete()
    again = run(account, "users")
    assert (again.created, again.updated, again.removed) == (0, 0, 1)
    stored = SmartsuppUser.objects.filter(account=account)
    assert list(
        stored.filter(removed_at__isnull=False).values_list("external_id", flat=True)
    ) == [str(carol.number)]
    assert stored.filter(removed_at__isnull=True).count() == vendor_users().count()
    assert not VendorAgent.objects.filter(
        account=account, external_id=str(carol.number), removed_at__isnull=True
    ).exists()


def test_a_vanished_account_takes_its_users_and_triggers_with_it(
    reseller, sandbox, live_server
):
    account = smartsupp(reseller, live_server)
    for stream in ("accounts", "users", "triggers"):
        run(account, stream)
    last = vendor_accounts().order_by("-number").first()
    aid = str(last.number)
    users = vendor_users().filter(account=last).count()
    last.delete()  # its users and triggers go with it at Smartsupp
    result = run(account, "accounts")
    assert result.removed == 1 + users + 2
    gone = SmartsuppAccount.objects.get(account=account, external_id=aid)
    assert gone.is_removed
    assert not gone.users.filter(removed_at__isnull=True).exists()
    assert not gone.triggers.filter(removed_at__isnull=True).exists()
    others = SmartsuppUser.objects.filter(account=account).exclude(
        smartsupp_account=gone
    )
    assert not others.filter(removed_at__isnull=False).exists()
    # The next users run no longer asks for the removed account.
    again = run(account, "users")
    assert again.requests == SEED_SIZE - 1 and written(again) == 0


def test_pages_of_accounts_commit_with_their_cursor_and_a_failed_run_resumes(
    reseller, sandbox, live_server, monkeypatch
):
    """Two accounts a page: a failure while storing the second page leaves the
    first page's users stored and its cursor saved; the next run asks only for
    the accounts after it and stores the rest, every user once."""
    monkeypatch.setattr(sync, "ACCOUNTS_PER_PAGE", 2)
    account = smartsupp(reseller, live_server)
    run(account, "accounts")
    order = list(
        SmartsuppAccount.objects.filter(account=account)
        .order_by("pk")
        .values_list("pk", "external_id")
    )
    real = sync.reconcile
    calls = []

    def failing(model, account, rows, **kw):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(model, account, rows, **kw)

    monkeypatch.setattr(sync, "reconcile", failing)
    failed = execute_stream(account.pk, "users")
    assert failed.status == RunStatus.FAILED
    assert failed.pages == 1
    stored = SmartsuppUser.objects.filter(account=account)
    assert stored.count() == 20  # the first page's two accounts
    assert set(stored.values_list("smartsupp_account_id", flat=True)) == {
        pk for pk, _ in order[:2]
    }
    assert load_cursor(account.pk, "users") == {"after": order[1][0]}

    monkeypatch.setattr(sync, "reconcile", real)
    paths = sent_paths(monkeypatch, "/users/")
    resumed = run(account, "users")
    assert paths == [
        f"/sandbox/smartsupp/accounts/{aid}/users/" for _, aid in order[2:]
    ]
    assert resumed.created == vendor_users().count() - 20
    assert resumed.pages == 2
    assert stored.count() == vendor_users().count()
    assert not load_cursor(account.pk, "users")


def test_office_hours_are_kept_as_the_portal_wrote_them(reseller, sandbox, live_server):
    """The account answer carries no office hours (none documented to read):
    an accounts run leaves the stored copy alone."""
    account = smartsupp(reseller, live_server)
    run(account, "accounts")
    main = SmartsuppAccount.objects.get(account=account, title=MAIN_NAME)
    hours = SmartsuppOfficeHours(
        account=account,
        external_id=main.external_id,
        smartsupp_account=main,
        timezone="1",
        active=True,
    )
    hours.set_week({1: [("08:00", "12:00")]})
    hours.save()
    run(account, "accounts")
    hours.refresh_from_db()
    assert hours.week()[1] == [("08:00", "12:00")] and not hours.is_removed


@pytest.mark.slow
@override_settings(
    VENDOR_READ_TIMEOUT=0.5, VENDOR_MAX_RETRIES=1, VENDOR_BACKOFF_MAX=0.2
)
def test_a_sync_through_20_percent_faults_stores_every_account_and_user_once(
    reseller, sandbox, live_server, monkeypatch
):
    monkeypatch.setattr(sync, "ACCOUNTS_PER_PAGE", 2)
    account = smartsupp(reseller, live_server)
    set_faults(
        "smartsupp",
        RESELLER_KEY,
        rate_429=0.05,
        rate_500=0.05,
        rate_timeout=0.05,
        rate_malformed=0.05,
        retry_after_seconds=1,
        timeout_seconds=1.0,
        seed=3,
    )
    runs: dict[str, list] = {"accounts": [], "users": []}
    try:
        for stream in runs:
            for _ in range(40):
                result = execute_stream(account.pk, stream)
                runs[stream].append(result)
                if result.status == RunStatus.SUCCEEDED:
                    break
    finally:
        clear_faults("smartsupp", RESELLER_KEY)
    for stream, results in runs.items():
        assert results[-1].status == RunStatus.SUCCEEDED, (
            stream,
            [r.error for r in results],
        )
    assert any(r.status == RunStatus.FAILED for rs in runs.values() for r in rs), (
        "the fault profile never failed a run"
    )
    accounts = SmartsuppAccount.objects.filter(account=account)
    assert sorted(accounts.values_list("external_id", flat=True)) == sorted(
        str(n) for n in vendor_accounts().values_list("number", flat=True)
    )
    users = SmartsuppUser.objects.filter(account=account)
    assert sorted(users.values_list("external_id", flat=True)) == sorted(
        str(n) for n in vendor_users().values_list("number", flat=True)
    )
    # Each stored exactly once across the runs; none marked removed by a fault.
    assert sum(r.created for r in runs["accounts"]) == accounts.count()
    assert sum(r.created for r in runs["users"]) == users.count()
    assert not users.filter(removed_at__isnull=False).exists()
