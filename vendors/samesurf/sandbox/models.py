"""The SameSurf sandbox's state, in the sandbox database (so it survives restarts
and is shared by every process serving the sandbox)."""

from __future__ import annotations

from django.db import models


class Subscription(models.Model):
    """A SameSurf subscription: a reseller, one of its clients, or a plain one."""

    name = models.CharField(max_length=200, unique=True)
    is_reseller = models.BooleanField(default=False)
    reseller = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="clients"
    )
    license_count = models.PositiveIntegerField(default=5)
    overrides = models.JSONField(default=list, blank=True)
    bookmarks = models.JSONField(default=list, blank=True)
    disabled_features = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A subscription's API key and the secret its JWTs are signed with."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="keys"
    )
    key = models.CharField(max_length=100, unique=True)
    secret = models.CharField(max_length=100)
    #: The docs' "enable the none algorithm for the API key": unsigned tokens
    #: are accepted for this key only.
    allow_none = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"…{self.key[-4:]}"


class Room(models.Model):
    """A room: running (started, not ended), past (ended: analytics), or
    scheduled (`event_at` set, not started). The same room number may be used
    again; `version` tells the uses apart."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="rooms"
    )
    number = models.CharField(max_length=20)
    version = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300, blank=True)
    start_url = models.CharField(max_length=2000, blank=True)
    token = models.CharField(max_length=40)
    leader_token = models.CharField(max_length=40)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: Seconds from start to end, once ended (SameSurf's `duration`).
    duration = models.PositiveIntegerField(null=True, blank=True)
    event_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    length_minutes = models.PositiveIntegerField(null=True, blank=True)
    invitees = models.TextField(blank=True)
    invite_message = models.TextField(blank=True)
    #: bookmarks, session (cookies, storage) and disabledfeatures as sent.
    options = models.JSONField(default=dict, blank=True)
    recordings = models.PositiveSmallIntegerField(default=0)
    experience = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["number", "version"], name="samesurf_sb_room_version"
            )
        ]
        indexes = [
            # runningrooms: not ended, oldest first.
            models.Index(
                fields=["subscription", "ended_at", "started_at"],
                name="samesurf_sb_room_state",
            ),
            # analyticsrooms: newest first, read backwards with no sort, at
            # any depth of a 100,000-room backfill.
            models.Index(
                fields=["subscription", "started_at", "id"],
                name="samesurf_sb_room_started",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}:{self.version}"


class LimitedUseToken(models.Model):
    """An invitation into a room usable `usage_limit` times."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="tokens")
    token = models.CharField(max_length=40, unique=True)
    usage_limit = models.PositiveIntegerField()
    is_leader = models.BooleanField()
    users_name = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.token
