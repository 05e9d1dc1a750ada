"""Alerts: open and resolved issues found by the rules (`alerts.rules`), and each
workspace's thresholds and recipients."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cobrowse_portal.core.models import Workspace
from cobrowse_portal.core.recipients import check_recipients, split_recipients


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


def validate_recipients(text: str) -> None:
    """Blank is allowed: the workspace's admins then."""
    check_recipients(text)


class AlertSettings(models.Model):
    """A workspace's alert thresholds and recipients (defaults until an admin
    saves the form: `AlertSettings.for_workspace` never writes)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="alert_settings"
    )
    failed_runs = models.PositiveSmallIntegerField(
        "consecutive failed runs",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Open an alert after this many failed runs of one stream in a row.",
    )
    stale_factor = models.PositiveSmallIntegerField(
        "no new data after (× interval)",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Open an alert when an account brought no new data for this many "
        "times its longest history stream's interval.",
    )
    rate_budget_minutes = models.PositiveSmallIntegerField(
        "rate budget exhausted for (minutes)",
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="Open an alert when calls to an account's vendor host waited for "
        "the shared budget, or were refused, in each of this many minutes in a row.",
    )
    webhook_miss_percent = models.PositiveSmallIntegerField(
        "webhooks missing changes above (%)",
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Open an alert when more than this share of the changes the "
        "last pulls found had not been delivered by a webhook.",
    )
    webhook_miss_runs = models.PositiveSmallIntegerField(
        "over the last (pulls)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="How many of the latest pulls that webhooks cover the miss "
        "rate is taken over.",
    )
    webhook_miss_min_sample = models.PositiveSmallIntegerField(
        "judged from (records)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(10000)],
        help_text="The miss rate is judged only once those pulls found at least "
        "this many changed or confirmed records.",
    )
    reminder_hours = models.PositiveSmallIntegerField(
        "remind every (hours)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text="Repeat the e-mail of an open, unacknowledged alert this often.",
    )
    notify_on_resolve = models.BooleanField(
        "e-mail when resolved",
        default=True,
        help_text="Also send an e-mail when an alert resolves by itself.",
    )
    recipients = models.TextField(
        blank=True,
        validators=[validate_recipients],
        help_text="Comma-separated e-mail addresses. Empty: the workspace's admins.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"alert settings of {self.workspace}"

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> AlertSettings:
        found = cls.objects.filter(workspace=workspace).first()
        return found or cls(workspace=workspace)

    def recipient_list(self) -> list[str]:
        """The addresses alerts go to: the setting, else the admins' e-mails."""
        from cobrowse_portal.core.choices import Role

        listed = split_recipients(self.recipients)
        if listed:
            return listed
        return sorted(
            {
                email
                for email in self.workspace.memberships.filter(
                    role=Role.ADMIN, user__is_active=True
                ).values_list("user__email", flat=True)
                if email
            }
        )


class Alert(models.Model):
    """One issue found by a rule: open while the rule's condition holds (its
    `key` names what it is about), resolved when it clears. The same condition
    coming back later opens a new row."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="alerts"
    )
    rule = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    subject = models.CharField(
        max_length=300, help_text="What it is about: an account, a stream, a step."
    )
    message = models.TextField(blank=True)
    account = models.ForeignKey(
        "core.VendorAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN
    )
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notified_open_at = models.DateTimeField(null=True, blank=True)
    notified_resolved_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-last_seen", "-id"]
        constraints = [
            # Evaluations after runs and the minute's sweep may overlap: one open
            # alert per condition, whoever comes second bumps it.
            models.UniqueConstraint(
                fields=["workspace", "rule", "key"],
                condition=Q(status="open"),
                name="alerts_one_open_per_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "status", "-last_seen"], name="alerts_ws_status"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == AlertStatus.OPEN

    @property
    def rule_label(self) -> str:
        from .rules import RULES

        found = RULES.get(self.rule)
        return found.label if found else self.rule
