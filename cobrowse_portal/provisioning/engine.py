"""Starting runs, running one step, retrying and abandoning: the engine behind
the provisioning pages. Each step runs in Celery (`provisioning.run_step`) and
calls its vendor's `Provisioner` (vendorkit.provisioning); the engine never
names a vendor."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cobrowse_portal.core.choices import WorkspaceKind
from cobrowse_portal.core.models import (
    VendorAccount,
    VendorAgent,
    Workspace,
    archive_workspace,
    unique_workspace_slug,
)
from cobrowse_portal.vendorkit import registry
from cobrowse_portal.vendorkit.errors import PermanentVendorError, VendorError
from cobrowse_portal.vendorkit.provisioning import StepContext
from cobrowse_portal.vendorkit.redaction import redact, register_secret

from .models import (
    ACTIVE,
    ProvisioningRun,
    ProvisioningStep,
    RunKind,
    RunStatus,
    StepStatus,
)

log = logging.getLogger("cobrowse.provisioning")


@shared_task(name="provisioning.run_step", acks_late=True)
def run_step(step_id: int) -> str:
    """Run one provisioning step (queued by the engine, re-queued by the sweeper
    and by a transient failure's automatic retry)."""
    return execute(step_id)


def provisioners() -> list:
    """Every registered vendor that takes part in provisioning, by label."""
    return [s for s in registry.all_vendors() if s.provisioner is not None]


def reseller_accounts(workspace: Workspace, vendor: str) -> list[VendorAccount]:
    """The reseller workspace's enabled accounts of `vendor`, by name."""
    return list(
        VendorAccount.objects.filter(
            workspace=workspace, vendor=vendor, enabled=True
        ).order_by("name", "pk")
    )


# --- starting runs -------------------------------------------------------------
def _queue(step: ProvisioningStep) -> None:
    ProvisioningStep.objects.filter(pk=step.pk).update(
        status=StepStatus.WAITING,
        queued_at=timezone.now(),
        finished_at=None,
        auto_retries=0,
    )
    transaction.on_commit(lambda pk=step.pk: _send(run_step, pk))


def _send(task, pk: int) -> None:
    try:
        task.delay(pk)
    except Exception:  # broker down: the step waits; the sweeper re-queues it
        log.warning("could not queue provisioning step %s", pk)


@transaction.atomic
def start_provisioning(
    reseller: Workspace, user, client: dict, vendors: dict[str, dict]
) -> ProvisioningRun:
    """Create the client workspace and a run with one step per chosen vendor.

    `client`: name, domains (list), time_zone, agent_name, agent_email.
    `vendors`: slug -> {"account": the reseller's VendorAccount or None,
    "options": {...}, "secrets": {...}}."""
    workspace = Workspace.objects.create(
        name=client["name"][:120],
        slug=unique_workspace_slug(client["name"]),
        kind=WorkspaceKind.CLIENT,
        parent=reseller,
        time_zone=client.get("time_zone") or "UTC",
    )
    run = ProvisioningRun.objects.create(
        workspace=reseller,
        client=workspace,
        kind=RunKind.PROVISION,
        subject=workspace.name,
        fields=client,
        created_by=user if user and user.is_authenticated else None,
    )
    for position, (slug, choice) in enumerate(sorted(vendors.items())):
        for value in choice.get("secrets", {}).values():
            register_secret(value)
        step = ProvisioningStep(
            run=run,
            position=position,
            vendor=slug,
            account=choice.get("account"),
            options=choice.get("options", {}),
        )
        step.set_secrets(choice.get("secrets", {}))
        step.save()
        _queue(step)
    return run


def removal_plan(client: Workspace) -> list[tuple]:
    """What the client has at each vendor: [(spec, reseller account, holdings)]."""
    plan = []
    for spec in provisioners():
        holdings = spec.provisioner.holdings(client)
        if holdings:
            plan.append((spec, _reseller_account_of(client, spec), holdings))
    return plan


def _reseller_account_of(client: Workspace, spec) -> VendorAccount | None:
    if not spec.provisioner.reseller_api or client.parent_id is None:
        return None
    found = spec.provisioner.reseller_account_for(client)
    if found is not None:
        return found
    accounts = reseller_accounts(client.parent, spec.slug)
    return accounts[0] if accounts else None


@transaction.atomic
def start_deprovisioning(reseller: Workspace, user, client: Workspace):
    """A run removing everything `client` has at each vendor; the workspace is
    archived once every step is done."""
    run = ProvisioningRun.objects.create(
        workspace=reseller,
        client=client,
        kind=RunKind.DEPROVISION,
        subject=client.name,
        created_by=user if user and user.is_authenticated else None,
    )
    for position, (spec, account, _holdings) in enumerate(removal_plan(client)):
        step = ProvisioningStep.objects.create(
            run=run,
            position=position,
            vendor=spec.slug,
            account=account,
            state=spec.provisioner.removal_state(client),
        )
        _queue(step)
    if not run.steps.exists():
        _settle(run)
    return run


@transaction.atomic
def start_undo(source: ProvisioningRun, user, step: ProvisioningStep | None = None):
    """Remove at the vendors what `source` made: one abandoned `step`'s
    creations, or (the run abandoned as a whole) every step's, after which the
    client workspace is archived."""
    run = ProvisioningRun.objects.create(
        workspace=source.workspace,
        client=source.client,
        source=source,
        kind=RunKind.UNDO,
        subject=source.subject,
        fields={"step": step.pk} if step is not None else {},
        created_by=user if user and user.is_authenticated else None,
    )
    olds = [step] if step is not None else list(source.steps.order_by("position"))
    for position, old in enumerate(olds):
        if not (old.made or old.state.get("account_id")):
            continue
        new = ProvisioningStep.objects.create(
            run=run,
            position=position,
            vendor=old.vendor,
            account=old.account,
            state=dict(old.state),
        )
        _queue(new)
    if not run.steps.exists():
        _settle(run)
    return run


@transaction.atomic
def start_offboarding(workspace: Workspace, user, identity) -> ProvisioningRun:
    """Remove or disable one person at every vendor where the directory has them
    (in `workspace` and, for a reseller, its client workspaces)."""
    run = ProvisioningRun.objects.create(
        workspace=workspace,
        identity=identity,
        kind=RunKind.OFFBOARD,
        subject=identity.name or identity.email,
        fields={"email": identity.email, "name": identity.name},
        created_by=user if user and user.is_authenticated else None,
    )
    for position, agent in enumerate(offboard_targets(workspace, identity)):
        step = ProvisioningStep.objects.create(
            run=run,
            position=position,
            vendor=agent.vendor,
            account=agent.account,
            target_pk=agent.pk,
        )
        _queue(step)
    if not run.steps.exists():
        _settle(run)
    return run


def offboard_targets(workspace: Workspace, identity) -> list[VendorAgent]:
    """The person's directory entries at vendors that take part, in
    `workspace` or (a reseller) its clients, not removed yet."""
    slugs = [s.slug for s in provisioners()]
    return list(
        VendorAgent.objects.filter(
            Q(workspace=workspace) | Q(workspace__parent=workspace),
            Q(identity=identity) | Q(email__iexact=identity.email),
            vendor__in=slugs,
            removed_at__isnull=True,
        )
        .select_related("account", "workspace")
        .order_by("vendor", "account__name", "pk")
    )


# --- retry and abandon ---------------------------------------------------------
@transaction.atomic
def retry(step: ProvisioningStep) -> bool:
    step = ProvisioningStep.objects.select_for_update().get(pk=step.pk)
    if not step.can_retry:
        return False
    _queue(step)
    ProvisioningRun.objects.filter(pk=step.run_id).update(
        status=RunStatus.WAITING, finished_at=None
    )
    return True


@transaction.atomic
def abandon(step: ProvisioningStep) -> bool:
    step = ProvisioningStep.objects.select_for_update().get(pk=step.pk)
    if not step.can_abandon:
        return False
    step.status, step.finished_at = StepStatus.ABANDONED, timezone.now()
    step.save(update_fields=["status", "finished_at"])
    _settle(step.run)
    return True


@transaction.atomic
def abandon_run(run: ProvisioningRun) -> int:
    """Abandon every step that is not done or running; the run ends abandoned."""
    n = run.steps.filter(status__in=(StepStatus.WAITING, StepStatus.FAILED)).update(
        status=StepStatus.ABANDONED, finished_at=timezone.now()
    )
    _settle(run, abandoned=True)
    return n


# --- one step --------------------------------------------------------------------
def execute(step_id: int) -> str:
    """Run one step (the Celery task's body). Only a waiting step runs: a step
    abandoned or already taken by another worker is left alone."""
    now = timezone.now()
    claimed = ProvisioningStep.objects.filter(
        pk=step_id, status=StepStatus.WAITING
    ).update(status=StepStatus.RUNNING, started_at=now, finished_at=None)
    if not claimed:
        return "not waiting"
    step = ProvisioningStep.objects.select_related("run", "account").get(pk=step_id)
    ProvisioningStep.objects.filter(pk=step_id).update(attempts=step.attempts + 1)
    run = step.run
    ProvisioningRun.objects.filter(pk=run.pk, status=RunStatus.WAITING).update(
        status=RunStatus.RUNNING
    )
    try:
        message = _perform(step, run)
    except VendorError as exc:
        status, message = StepStatus.FAILED, exc.user_message()
        delays = settings.PROVISIONING_RETRY_DELAYS
        if exc.transient and step.auto_retries < len(delays):
            # A blip (timeout, 5xx, 429): tried again by itself, from where it
            # got (a try is safe to repeat: see vendorkit.provisioning).
            delay = int(
                max(delays[step.auto_retries], getattr(exc, "retry_after", 0) or 0)
            )
            _retry_later(step, f"{message} Trying again in {delay} s.", delay)
            return f"{step.vendor}: retrying in {delay} s"
    except Exception as exc:  # a bug must not leave the step running forever
        log.exception("provisioning step %s failed", step_id)
        status = StepStatus.FAILED
        message = f"Unexpected error ({type(exc).__name__}); it was logged."
    else:
        status = StepStatus.DONE
    ProvisioningStep.objects.filter(pk=step_id).update(
        status=status,
        message=redact(message)[:2000],
        finished_at=timezone.now(),
        auto_retries=0,
    )
    _settle(run)
    return f"{step.vendor}: {status}"


def _retry_later(step: ProvisioningStep, message: str, delay: int) -> None:
    ProvisioningStep.objects.filter(pk=step.pk).update(
        status=StepStatus.WAITING,
        message=redact(message)[:2000],
        auto_retries=step.auto_retries + 1,
        # Due then: the sweeper counts its grace from here.
        queued_at=timezone.now() + timedelta(seconds=delay),
    )
    try:
        run_step.apply_async((step.pk,), countdown=delay)
    except Exception:  # broker down: the sweeper re-queues it when due
        log.warning("could not queue provisioning step %s again", step.pk)


def _perform(step: ProvisioningStep, run: ProvisioningRun) -> str:
    spec = step.spec
    provisioner = spec.provisioner
    if provisioner is None:
        return f"{spec.label} no longer takes part in provisioning; nothing done"
    no_account = step.account is None or not step.account.enabled
    if provisioner.reseller_api and run.kind == RunKind.PROVISION and no_account:
        raise PermanentVendorError(
            f"No enabled {spec.label} reseller account in this workspace: "
            "add one (or switch it on) and retry."
        )
    secrets = step.secrets
    for value in secrets.values():
        register_secret(value)
    ctx = StepContext(
        step=step,
        reseller_account=step.account,
        workspace=run.client,
        client=dict(run.fields),
        options=dict(step.options),
        secrets=secrets,
        state=dict(step.state),
    )
    if run.kind == RunKind.PROVISION:
        return provisioner.provision(ctx)
    if run.kind in (RunKind.DEPROVISION, RunKind.UNDO):
        return provisioner.remove(ctx)
    agent = VendorAgent.objects.select_related("account").get(pk=step.target_pk)
    if agent.removed_at is not None:
        return "already removed"
    ctx.reseller_account = agent.account
    ctx.workspace = agent.workspace
    return provisioner.offboard(ctx, agent)


def _settle(run: ProvisioningRun, *, abandoned: bool = False) -> None:
    """Recompute the run's status from its steps (an abandoned run stays
    abandoned until one of its steps is retried). At the end of a removal the
    client workspace is archived; a finished run forgets its secrets."""
    statuses = set(run.steps.values_list("status", flat=True))
    stored = ProvisioningRun.objects.filter(pk=run.pk).values_list("status", flat=True)
    if abandoned or stored.first() == RunStatus.ABANDONED:
        status = RunStatus.ABANDONED
    elif statuses & set(ACTIVE):
        running = StepStatus.RUNNING in statuses
        status = RunStatus.RUNNING if running else RunStatus.WAITING
    elif StepStatus.FAILED in statuses:
        status = RunStatus.FAILED
    elif statuses and StepStatus.DONE not in statuses:
        status = RunStatus.ABANDONED
    else:
        status = RunStatus.DONE
    over = not statuses & set(ACTIVE) and status != RunStatus.FAILED
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now() if over else None
    )
    run.status = status
    if not over:
        return
    run.steps.exclude(secrets_encrypted="").update(secrets_encrypted="")
    if status != RunStatus.DONE or not run.client_id:
        return
    whole_undo = (
        run.kind == RunKind.UNDO
        and not run.fields.get("step")
        and run.source is not None
        and run.source.status == RunStatus.ABANDONED
    )
    if run.kind == RunKind.DEPROVISION or whole_undo:
        client = Workspace.objects.get(pk=run.client_id)
        if client.archived_at is None:
            archive_workspace(client)


# --- the sweeper -------------------------------------------------------------------
def sweep(now=None) -> tuple[int, int]:
    """Re-queue waiting steps whose task was lost; fail steps whose worker died
    (running far longer than any vendor call can). Returns (re-queued, failed)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.SWEEP_GRACE_SECONDS)
    lost = list(
        ProvisioningStep.objects.filter(
            status=StepStatus.WAITING, queued_at__lt=now - grace
        ).values_list("pk", flat=True)[:500]
    )
    if lost:
        ProvisioningStep.objects.filter(pk__in=lost).update(queued_at=now)
        for pk in lost:
            transaction.on_commit(lambda pk=pk: _send(run_step, pk))
    dead = list(
        ProvisioningStep.objects.filter(
            status=StepStatus.RUNNING,
            started_at__lt=now - timedelta(seconds=settings.PROVISIONING_STEP_TIMEOUT),
        ).select_related("run")[:500]
    )
    for step in dead:
        ProvisioningStep.objects.filter(pk=step.pk, status=StepStatus.RUNNING).update(
            status=StepStatus.FAILED,
            message="The worker stopped while this step ran: retry it (a retry "
            "finds what the step already made).",
            finished_at=now,
        )
        _settle(step.run)
    return len(lost), len(dead)
