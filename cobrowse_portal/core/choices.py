"""Choice sets used across the portal, each value with its badge colour."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Agent"


ROLE_RANK = {Role.AGENT: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class WorkspaceKind(models.TextChoices):
    STANDALONE = "standalone", "Standalone"
    RESELLER = "reseller", "Reseller"
    CLIENT = "client", "Client"


class AccountStatus(models.TextChoices):
    NEW = "new", "New"
    OK = "ok", "Healthy"
    FAILING = "failing", "Failing"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Trigger(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL = "manual", "Manual"
    WEBHOOK = "webhook", "Webhook"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (unknown type)"
    INVALID = "invalid", "Invalid"
    FAILED = "failed", "Failed"


class ActivityKind(models.TextChoices):
    """What one row of the cross-vendor activity index is."""

    COBROWSE = "cobrowse", "Co-browse"
    ROOM = "room", "Room"
    CHAT = "chat", "Chat"
    VISIT = "visit", "Visitor session"


class ActivityStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"


#: Statuses the Live board shows (a partial index covers exactly these).
OPEN_STATUSES = (ActivityStatus.QUEUED, ActivityStatus.LIVE)


BADGES = {
    "live": "green",
    "ended": "grey",
    "ok": "green",
    "succeeded": "green",
    "processed": "green",
    "new": "grey",
    "queued": "grey",
    "skipped": "grey",
    "ignored": "grey",
    "received": "blue",
    "pending": "orange",
    "discarded": "grey",
    "superseded": "grey",
    "running": "blue",
    "failing": "red",
    "failed": "red",
    "invalid": "red",
    "needs_attention": "orange",
    # provisioning runs and steps
    "waiting": "grey",
    "done": "green",
    "abandoned": "grey",
}


class WriteStatus(models.TextChoices):
    PENDING = "pending", "Waiting to retry"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    DISCARDED = "discarded", "Discarded"
    #: Folded into a later change to the same object (which carries its intent).
    SUPERSEDED = "superseded", "Merged into a later change"
