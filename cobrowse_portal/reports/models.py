"""Report definitions per workspace, their stored runs, and the messages sent."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from cobrowse_portal.core.recipients import check_recipients, split_recipients


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class RunState(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Sending failed"


class RunTrigger(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL = "manual", "Send now"


def validate_recipients(text: str) -> None:
    """A report goes to at least one address."""
    check_recipients(text, required=True)


class ReportDefinition(models.Model):
    """What to report, to whom, and when (in the workspace's time zone)."""

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="report_definitions"
    )
    name = models.CharField(max_length=120)
    frequency = models.CharField(
        max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    hour = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(23)],
        help_text="Local hour (0-23) in the workspace's time zone.",
    )
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text="Weekly reports: the day they are sent.",
    )
    day_of_month = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Monthly reports: the day (1-28) they are sent.",
    )
    recipients = models.TextField(
        validators=[validate_recipients], help_text="Comma-separated e-mail addresses."
    )
    sections = models.JSONField(default=list)
    include_clients = models.BooleanField(
        default=False,
        help_text="A reseller workspace's report: cover all its client workspaces too.",
    )
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="reports_definition_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from .sections import unknown_sections

        if not self.sections:
            raise ValidationError({"sections": "Pick at least one section."})
        unknown = unknown_sections(self.sections)
        if unknown:
            raise ValidationError(
                {"sections": f"Unknown sections: {', '.join(unknown)}"}
            )

    @property
    def recipient_list(self) -> list[str]:
        return split_recipients(self.recipients)

    @property
    def schedule_text(self) -> str:
        at = f"{self.hour:02d}:00"
        if self.frequency == Frequency.DAILY:
            return f"every day at {at}"
        if self.frequency == Frequency.WEEKLY:
            return f"every {Weekday(self.weekday).label} at {at}"
        return f"on day {self.day_of_month} of every month at {at}"

    @property
    def covers_clients(self) -> bool:
        return self.include_clients and self.workspace.is_reseller


class ReportRun(models.Model):
    """One computed report: its period, figures (the rendered tables) and sending."""

    definition = models.ForeignKey(
        ReportDefinition, on_delete=models.CASCADE, related_name="runs"
    )
    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="report_runs"
    )
    trigger = models.CharField(
        max_length=10, choices=RunTrigger.choices, default=RunTrigger.SCHEDULED
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(max_length=8, choices=RunState.choices)
    figures = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["definition", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.definition} #{self.pk}"


class OutboxMessage(models.Model):
    """A message the portal sent: what the Outbox of its workspace lists."""

    workspace = models.ForeignKey(
        "core.Workspace", on_delete=models.CASCADE, related_name="outbox_messages"
    )
    run = models.ForeignKey(
        ReportRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    subject = models.CharField(max_length=300)
    recipients = models.TextField()
    from_email = models.CharField(max_length=300)
    message_id = models.CharField(max_length=300)
    file_name = models.CharField(max_length=300, blank=True)
    backend = models.CharField(max_length=200)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-sent_at"])]

    def __str__(self) -> str:
        return self.subject
