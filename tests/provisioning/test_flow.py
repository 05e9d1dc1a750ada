"""The whole new-client flow against the sandboxes over HTTP: one run, one step
per vendor, keys stored encrypted in the client workspace's accounts; a vendor
failing while the others succeed, then a retry without a duplicate (counted in
the sandbox); a lost answer adopted on retry; abandon and remove; removing a
client leaves nothing behind at any sandbox; offboarding one person."""

from __future__ import annotations

import pytest
import requests
from django.test import override_settings

from cobrowse_portal.core.models import VendorAccount, VendorAgent, Workspace
from cobrowse_portal.provisioning import engine
from cobrowse_portal.provisioning.models import (
    ProvisioningRun,
    ProvisioningStep,
    RunStatus,
    StepStatus,
)
from cobrowse_portal.vendorkit.sandbox.faults import clear_faults, set_faults
from vendors.samesurf.models import SameSurfSubscription
from vendors.samesurf.sandbox.models import Subscription as SandboxSubscription
from vendors.samesurf.sandbox.seed import RESELLER_KEY as SAMESURF_KEY
from vendors.smartsupp.models import SmartsuppAccount, SmartsuppUser
from vendors.smartsupp.sandbox.models import Account as SandboxSmartsuppAccount
from vendors.smartsupp.sandbox.models import User as SandboxSmartsuppUser
from vendors.surfly.models import SurflyClient
from vendors.surfly.sandbox.models import Agent as SandboxSurflyAgent
from vendors.surfly.sandbox.models import Company

from .conftest import SANDBOX, choices, client_fields

pytestmark = [SANDBOX, pytest.mark.usefixtures("eager")]
#: No retries of a call, and no automatic retries of a step (the tests retry).
FAST = override_settings(
    VENDOR_MAX_RETRIES=0, VENDOR_BACKOFF_MAX=0.1, PROVISIONING_RETRY_DELAYS=()
)


def at_sandboxes(name: str) -> dict:
    """How many objects called `name` each sandbox holds."""
    return {
        "surfly": Company.objects.filter(name=name).count(),
        "samesurf": SandboxSubscription.objects.filter(name=name).count(),
        "smartsupp": SandboxSmartsuppAccount.objects.filter(title=name).count(),
    }


def steps_of(run) -> dict[str, ProvisioningStep]:
    return {s.vendor: s for s in ProvisioningStep.objects.filter(run=run)}


def test_a_client_at_four_vendors_in_one_run(reseller, reseller_accounts, ada):
    upscope_key = {"api_key": "sandbox-upscope-key-0002"}
    vendors = choices(
        reseller_accounts,
        "surfly",
        "samesurf",
        "smartsupp",
        "upscope",
        upscope={
            "options": {"base_url": _upscope_url(reseller_accounts)},
            "secrets": upscope_key,
        },
    )
    run = engine.start_provisioning(reseller, ada, client_fields(), vendors)
    run.refresh_from_db()
    steps = steps_of(run)
    assert {v: s.status for v, s in steps.items()} == dict.fromkeys(
        ("samesurf", "smartsupp", "surfly", "upscope"), StepStatus.DONE
    ), {v: s.message for v, s in steps.items()}
    assert run.status == RunStatus.DONE and run.finished_at is not None
    assert at_sandboxes("Initrode") == {"surfly": 1, "samesurf": 1, "smartsupp": 1}

    client = run.client
    assert client.parent == reseller and client.time_zone == "Europe/Amsterdam"
    accounts = {a.vendor: a for a in client.accounts.all()}
    # Smartsupp issues no per-account key: the client has no Smartsupp account.
    assert set(accounts) == {"surfly", "samesurf", "upscope"}
    company = Company.objects.get(name="Initrode")
    assert accounts["surfly"].credentials == {"api_key": company.api_key}
    assert company.api_key not in accounts["surfly"].credentials_encrypted
    assert company.plan == "client_basic"
    assert SandboxSurflyAgent.objects.filter(
        company=company, email="ivy@initrode.example"
    ).exists()
    sub = SandboxSubscription.objects.get(name="Initrode")
    assert sub.license_count == 4
    assert accounts["samesurf"].credentials["api_key"] in set(
        sub.keys.values_list("key", flat=True)
    )
    assert accounts["upscope"].credentials == upscope_key
    # Each stored key works against its sandbox.
    for account in accounts.values():
        assert account.client().check_connection()
        assert account.enabled
    # The local rows know their client workspace.
    assert (
        SurflyClient.objects.get(external_id=company.client_key).client_workspace
        == client
    )
    assert (
        SameSurfSubscription.objects.get(external_id="Initrode").client_workspace
        == client
    )
    sa = SmartsuppAccount.objects.get(title="Initrode")
    assert sa.client_workspace == client
    user = SandboxSmartsuppUser.objects.get(account__title="Initrode")
    assert (user.email, user.role) == ("ivy@initrode.example", "admin")
    assert SmartsuppUser.objects.filter(smartsupp_account=sa, email=user.email).exists()
    # The password went to Smartsupp only: no step keeps a secret once it is over.
    assert not ProvisioningStep.objects.exclude(secrets_encrypted="").exists()
    for step in steps.values():
        assert "s3cret" not in f"{step.message} {step.state}"
    # Its syncs are scheduled like any account's.
    from django_celery_beat.models import PeriodicTask

    from cobrowse_portal.core.schedules import task_name

    for account in accounts.values():
        stream = account.spec.streams[0].name
        assert PeriodicTask.objects.filter(
            name=task_name(account.pk, stream), enabled=True
        ).exists()


def _upscope_url(accounts) -> str:
    base = accounts["surfly"].base_url.split("/sandbox/")[0]
    from cobrowse_portal.vendorkit import registry

    return f"{base}{registry.get('upscope').sandbox_path}"


@FAST
def test_one_vendor_failing_then_a_retry_without_a_duplicate(
    reseller, reseller_accounts, ada
):
    set_faults("samesurf", SAMESURF_KEY, rate_500=1.0)
    run = engine.start_provisioning(
        reseller,
        ada,
        client_fields("Vandelay"),
        choices(reseller_accounts, "surfly", "samesurf", "smartsupp"),
    )
    steps = steps_of(run)
    assert steps["surfly"].status == StepStatus.DONE
    assert steps["smartsupp"].status == StepStatus.DONE
    failed = steps["samesurf"]
    assert failed.status == StepStatus.FAILED
    assert "500" in failed.message or "server" in failed.message.lower()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is None
    # Secrets are kept while a step may still be retried.
    assert (
        ProvisioningStep.objects.filter(run=run).exclude(secrets_encrypted="").exists()
    )

    clear_faults("samesurf", SAMESURF_KEY)
    assert engine.retry(failed)
    failed.refresh_from_db()
    assert failed.status == StepStatus.DONE, failed.message
    assert failed.attempts == 2
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert at_sandboxes("Vandelay") == {"surfly": 1, "samesurf": 1, "smartsupp": 1}
    # The steps that were done are not run again by a retry of another.
    assert steps_of(run)["surfly"].attempts == 1


def _lose_answer_of(monkeypatch, path_end: str, method: str = "POST"):
    """The vendor acts on the first request ending with `path_end`, but its
    answer never arrives (a read timeout after the server answered)."""
    real_send = requests.adapters.HTTPAdapter.send
    lost = []

    def send(self, request, **kwargs):
        response = real_send(self, request, **kwargs)
        if (
            not lost
            and request.method == method
            and request.url.split("?")[0].rstrip("/").endswith(path_end)
        ):
            lost.append(request.url)
            raise requests.ReadTimeout("answer lost on the way back")
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return lost


@FAST
@pytest.mark.parametrize(
    "vendor,path",
    [
        ("surfly", "clients/all"),
        ("samesurf", "reseller/createsubscription"),
        ("smartsupp", "accounts/create"),
    ],
)
def test_a_lost_answer_is_found_on_retry_not_made_twice(
    vendor, path, reseller, reseller_accounts, ada, monkeypatch
):
    lost = _lose_answer_of(monkeypatch, path)
    run = engine.start_provisioning(
        reseller, ada, client_fields("Kramerica"), choices(reseller_accounts, vendor)
    )
    step = steps_of(run)[vendor]
    assert lost, "the create call was not made"
    assert step.status == StepStatus.FAILED
    assert at_sandboxes("Kramerica")[vendor] == 1  # the vendor did act

    assert engine.retry(step)
    step.refresh_from_db()
    assert step.status == StepStatus.DONE, step.message
    assert at_sandboxes("Kramerica")[vendor] == 1  # and still only once
    # It is recorded as made by this run (removable), not as pre-existing.
    assert [m["kind"] for m in step.made][:1] in (
        ["client"],
        ["subscription"],
        ["account"],
    )
    assert not step.state.get("adopted")


@override_settings(
    VENDOR_MAX_RETRIES=0, VENDOR_BACKOFF_MAX=0.1, PROVISIONING_RETRY_DELAYS=(30, 60)
)
def test_a_transient_failure_is_retried_by_itself(
    reseller, reseller_accounts, ada, monkeypatch
):
    """A lost answer (a read timeout) is tried again after a delay without
    anyone pressing Retry; a vendor that keeps failing ends failed after the
    automatic tries, saying why (and a manual retry starts them over)."""
    queued = []
    from cobrowse_portal.provisioning import tasks

    real = tasks.run_step.apply_async

    def apply_async(args=None, kwargs=None, countdown=None, **kw):
        if countdown is not None:  # a later try (the first is `delay()`)
            queued.append(countdown)
        return real(args, kwargs, **kw)

    monkeypatch.setattr(tasks.run_step, "apply_async", apply_async)
    _lose_answer_of(monkeypatch, "clients/all")
    run = engine.start_provisioning(
        reseller, ada, client_fields("Soylent"), choices(reseller_accounts, "surfly")
    )
    step = steps_of(run)["surfly"]
    assert step.status == StepStatus.DONE, step.message
    assert step.attempts == 2 and queued == [30]
    assert at_sandboxes("Soylent")["surfly"] == 1

    queued.clear()
    set_faults("samesurf", SAMESURF_KEY, rate_500=1.0)
    run = engine.start_provisioning(
        reseller, ada, client_fields("Tyrell"), choices(reseller_accounts, "samesurf")
    )
    step = steps_of(run)["samesurf"]
    assert step.status == StepStatus.FAILED and step.attempts == 3
    assert queued == [30, 60]
    assert "Trying again" not in step.message
    engine.retry(step)
    step.refresh_from_db()
    assert step.attempts == 6 and queued == [30, 60, 30, 60]


def test_a_name_the_vendor_already_has_is_linked_not_created(
    reseller, reseller_accounts, ada
):
    """A client Surfly had before (not created by the portal) is taken over."""
    from vendors.surfly.sandbox.seed import RESELLER_KEY

    existing = (
        Company.objects.filter(reseller__api_key=RESELLER_KEY).order_by("pk").first()
    )
    run = engine.start_provisioning(
        reseller,
        ada,
        client_fields(existing.name),
        choices(reseller_accounts, "surfly"),
    )
    step = steps_of(run)["surfly"]
    assert step.status == StepStatus.DONE, step.message
    assert step.state["adopted"] is True and step.made == []
    assert Company.objects.filter(name=existing.name).count() == 1
    assert run.client.accounts.get().credentials == {"api_key": existing.api_key}


@FAST
def test_abandon_a_step_then_remove_what_it_made(reseller, reseller_accounts, ada):
    # The account is created, then Smartsupp refuses the user (a password
    # too short): the step fails with the account made.
    smartsupp = {
        "options": {"lang": "en", "role": "agent"},
        "secrets": {"password": "x"},
    }
    run = engine.start_provisioning(
        reseller,
        ada,
        client_fields("Pendant"),
        choices(reseller_accounts, "smartsupp", smartsupp=smartsupp),
    )
    step = steps_of(run)["smartsupp"]
    assert step.status == StepStatus.FAILED
    assert [m["kind"] for m in step.made] == ["account"]
    assert at_sandboxes("Pendant")["smartsupp"] == 1
    assert engine.abandon(step)
    run.refresh_from_db()
    assert run.status == RunStatus.ABANDONED
    undo = engine.start_undo(run, ada, step)
    undo.refresh_from_db()
    assert undo.status == RunStatus.DONE, list(
        undo.steps.values_list("message", flat=True)
    )
    assert at_sandboxes("Pendant")["smartsupp"] == 0


@FAST
def test_removing_a_client_leaves_nothing_behind(reseller, reseller_accounts, ada):
    run = engine.start_provisioning(
        reseller,
        ada,
        client_fields("Monks"),
        choices(reseller_accounts, "surfly", "samesurf", "smartsupp"),
    )
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    client = run.client
    plan = {spec.slug: holdings for spec, _a, holdings in engine.removal_plan(client)}
    assert set(plan) == {"surfly", "samesurf", "smartsupp"}

    removal = engine.start_deprovisioning(reseller, ada, client)
    removal.refresh_from_db()
    assert removal.status == RunStatus.DONE, list(
        removal.steps.values_list("vendor", "message")
    )
    assert at_sandboxes("Monks") == {"surfly": 0, "samesurf": 0, "smartsupp": 0}
    client.refresh_from_db()
    assert client.archived_at is not None  # kept, read-only
    assert not client.accounts.filter(enabled=True).exists()
    assert not SurflyClient.objects.filter(
        client_workspace=client, removed_at=None
    ).exists()
    assert not SameSurfSubscription.objects.filter(
        client_workspace=client, removed_at=None
    ).exists()
    assert not SmartsuppAccount.objects.filter(
        client_workspace=client, removed_at=None
    ).exists()
    assert Workspace.objects.filter(pk=client.pk).exists()
    # Nothing is left to remove at any vendor.
    assert all(
        h.kind == "vendor account"
        for _s, _a, hs in engine.removal_plan(client)
        for h in hs
    )


@FAST
def test_a_failed_removal_step_keeps_the_workspace_until_retried(
    reseller, reseller_accounts, ada
):
    run = engine.start_provisioning(
        reseller, ada, client_fields("Sterling"), choices(reseller_accounts, "samesurf")
    )
    client = run.client
    set_faults("samesurf", SAMESURF_KEY, rate_500=1.0)
    removal = engine.start_deprovisioning(reseller, ada, client)
    step = removal.steps.get(vendor="samesurf")
    assert step.status == StepStatus.FAILED
    client.refresh_from_db()
    assert client.archived_at is None
    clear_faults("samesurf", SAMESURF_KEY)
    engine.retry(step)
    client.refresh_from_db()
    assert client.archived_at is not None
    assert at_sandboxes("Sterling")["samesurf"] == 0


def test_abandoning_the_whole_run_then_removing_everything_archives_it(
    reseller, reseller_accounts, ada
):
    run = engine.start_provisioning(
        reseller,
        ada,
        client_fields("Hooli"),
        choices(reseller_accounts, "surfly", "samesurf"),
    )
    engine.abandon_run(run)
    run.refresh_from_db()
    assert run.status == RunStatus.ABANDONED
    undo = engine.start_undo(run, ada)
    undo.refresh_from_db()
    assert undo.status == RunStatus.DONE
    assert at_sandboxes("Hooli") == {"surfly": 0, "samesurf": 0, "smartsupp": 0}
    run.client.refresh_from_db()
    assert run.client.archived_at is not None


def test_offboarding_removes_the_person_at_every_vendor(
    reseller, reseller_accounts, ada
):
    """A Surfly agent of the reseller is also a client's first Smartsupp user:
    the directory knows one person, and offboarding removes both."""
    from cobrowse_portal.vendorkit.runs import execute_stream

    surfly = reseller_accounts["surfly"]
    agent = (
        SandboxSurflyAgent.objects.filter(
            company__api_key=surfly.credentials["api_key"]
        )
        .order_by("pk")
        .first()
    )
    execute_stream(surfly.pk, "agents")
    entry = VendorAgent.objects.get(account=surfly, external_id=str(agent.pk))
    provisioned = engine.start_provisioning(
        reseller,
        ada,
        client_fields("Globo", agent_email=agent.email, agent_name=agent.name),
        choices(reseller_accounts, "smartsupp"),
    )
    assert steps_of(provisioned)["smartsupp"].status == StepStatus.DONE
    entry.refresh_from_db()
    identity = entry.identity
    targets = engine.offboard_targets(reseller, identity)
    assert sorted(t.vendor for t in targets) == ["smartsupp", "surfly"]

    run = engine.start_offboarding(reseller, ada, identity)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, list(
        run.steps.values_list("message", flat=True)
    )
    assert not SandboxSurflyAgent.objects.filter(pk=agent.pk).exists()
    assert not SandboxSmartsuppUser.objects.filter(email=agent.email).exists()
    assert not engine.offboard_targets(reseller, identity)


def test_the_sweeper_requeues_lost_steps_and_fails_dead_ones(
    reseller, reseller_accounts, ada, monkeypatch, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from cobrowse_portal.core import tasks
    from cobrowse_portal.provisioning import tasks as prov_tasks

    sent = []
    monkeypatch.setattr(prov_tasks.run_step, "delay", lambda pk: sent.append(pk))
    run = engine.start_provisioning(
        reseller,
        ada,
        client_fields("Wonka"),
        choices(reseller_accounts, "surfly", "samesurf"),
    )
    surfly, samesurf = (steps_of(run)[v] for v in ("surfly", "samesurf"))
    assert sorted(sent) == sorted([surfly.pk, samesurf.pk])  # queued, not run
    sent.clear()
    old = timezone.now() - timedelta(hours=1)
    ProvisioningStep.objects.filter(pk=surfly.pk).update(queued_at=old)
    ProvisioningStep.objects.filter(pk=samesurf.pk).update(
        status=StepStatus.RUNNING, started_at=old
    )
    settings.PROVISIONING_STEP_TIMEOUT = 600
    summary = tasks.sweep()
    assert "re-queued 1 steps, failed 1 dead steps" in summary
    assert sent == [surfly.pk]
    samesurf.refresh_from_db()
    assert samesurf.status == StepStatus.FAILED and "worker stopped" in samesurf.message
    assert ProvisioningRun.objects.get(pk=run.pk).status == RunStatus.WAITING


def test_no_reseller_account_is_a_clear_failure(reseller, sandboxes, ada):
    run = engine.start_provisioning(
        reseller, ada, client_fields("Acme Jr"), choices({}, "surfly")
    )
    step = steps_of(run)["surfly"]
    assert step.status == StepStatus.FAILED
    assert "No enabled Surfly reseller account" in step.message
    assert not VendorAccount.objects.filter(workspace=run.client).exists()
