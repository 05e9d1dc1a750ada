"""Provisioning runs and their per-vendor steps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cobrowse_portal.core import crypto
from cobrowse_portal.core.models import AgentIdentity, VendorAccount, Workspace
from cobrowse_portal.vendorkit import registry


class RunKind(models.TextChoices):
    PROVISION = "provision", "New client"
    DEPROVISION = "deprovision", "Remove client"
    UNDO = "undo", "Remove what an abandoned run made"
    OFFBOARD = "offboard", "Offboard a person"


class StepStatus(models.TextChoices):
    """A step's status; a run's is the same set, computed from its steps."""

    WAITING = "waiting", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"


RunStatus = StepStatus


#: A step in these may still change without anyone asking.
ACTIVE = (StepStatus.WAITING, StepStatus.RUNNING)


class ProvisioningRun(models.Model):
    """One flow started by a reseller: its steps run one per vendor."""

    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="provisioning_runs",
        help_text="The reseller workspace the run belongs to.",
    )
    client = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="client_provisioning_runs",
        help_text="The client workspace it creates or removes.",
    )
    identity = models.ForeignKey(
        AgentIdentity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="offboarding_runs",
        help_text="The person an offboarding run removes.",
    )
    source = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="undo_runs",
        help_text="The abandoned run whose creations an undo run removes.",
    )
    kind = models.CharField(max_length=16, choices=RunKind.choices)
    subject = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.WAITING
    )
    #: The client's fields (name, domains, time zone, first agent): never secret.
    fields = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["workspace", "-created_at"], name="prov_run_ws_created"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.WAITING, RunStatus.RUNNING)


class ProvisioningStep(models.Model):
    """One vendor's part of a run; retried, abandoned or removed on its own."""

    run = models.ForeignKey(
        ProvisioningRun, on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(default=0)
    vendor = models.CharField(max_length=32)
    account = models.ForeignKey(
        VendorAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The account it acts through (the reseller's, or for an "
        "offboarding the person's account).",
    )
    #: Offboarding: the directory entry (core.VendorAgent) of the person there.
    target_pk = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=StepStatus.choices, default=StepStatus.WAITING
    )
    options = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    #: What tries of this step learnt: vendor ids, the account it made, and
    #: `made` (what it created at the vendor).
    state = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    #: Automatic tries after a transient failure since the last manual action.
    auto_retries = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position", "pk"]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="prov_step_status_q")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"

    @property
    def label(self) -> str:
        try:
            return registry.get(self.vendor).label
        except KeyError:
            return self.vendor

    @property
    def spec(self):
        return registry.get(self.vendor)

    @property
    def secrets(self) -> dict:
        return (
            crypto.decrypt_json(self.secrets_encrypted)
            if self.secrets_encrypted
            else {}
        )

    def set_secrets(self, values: dict) -> None:
        self.secrets_encrypted = crypto.encrypt_json(values) if values else ""

    @property
    def made(self) -> list[dict]:
        return list(self.state.get("made", []))

    @property
    def can_retry(self) -> bool:
        return self.status in (StepStatus.FAILED, StepStatus.ABANDONED)

    @property
    def can_abandon(self) -> bool:
        return self.status in (StepStatus.WAITING, StepStatus.FAILED)
