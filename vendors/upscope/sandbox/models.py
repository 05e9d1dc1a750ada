"""The Upscope sandbox's state, in the sandbox database (so it survives restarts
and is shared by every process serving the sandbox).

Visitors come online and go offline by the clock, without a worker: each has a
cycle of `cycle_minutes` of which the first `online_minutes` (shifted by
`phase_minutes`) are online, so "is this visitor online at minute m" is
`(m + phase) % cycle < online_minutes`, the same answer in every process and
expressible in SQL. A visitor in a running session is online too.
"""

from __future__ import annotations

from django.db import models

#: The sandbox's vendor slug (rate limit, faults, webhook deliveries).
VENDOR = "upscope"


class Account(models.Model):
    """An Upscope account and its secret REST key. `state` other than "ok" is
    one of the documented 401 codes, answered to every call with this key."""

    STATES = (
        ("ok", "ok"),
        ("no_subscription", "no_subscription"),
        ("api_not_enabled", "api_not_enabled"),
        ("please_contact_team", "please_contact_team"),
    )

    name = models.CharField(max_length=200)
    api_key = models.CharField(max_length=100, unique=True)
    public_key = models.CharField(max_length=40)
    team_id = models.PositiveIntegerField()
    domain = models.CharField(max_length=200)
    state = models.CharField(max_length=32, choices=STATES, default="ok")
    #: Concurrent sessions the plan allows; one more watch URL answers 402.
    session_limit = models.PositiveIntegerField(default=5)
    #: How long a session started by a watch URL runs before it ends by itself.
    session_seconds = models.PositiveIntegerField(default=600)
    #: Next session number (ids "s_<n>" increase with start order).
    next_session = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    short_id = models.CharField(max_length=40)
    unique_id = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=200, blank=True)
    call_name = models.CharField(max_length=200, blank=True)
    identities = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    integration_ids = models.JSONField(default=list, blank=True)
    #: " value value " (lower case) of identities, tags and integration ids, so
    #: a token matches a whole word with one LIKE.
    tokens_text = models.TextField(blank=True)
    #: Everything free text searches (lower case).
    search_text = models.TextField(blank=True)
    lookup_code = models.CharField(max_length=4, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    integration = models.CharField(max_length=40, blank=True)
    browser_name = models.CharField(max_length=60, blank=True)
    device_name = models.CharField(max_length=60, blank=True)
    device_type = models.CharField(max_length=20, blank=True)
    location_city = models.CharField(max_length=100, blank=True)
    location_country = models.CharField(max_length=2, blank=True)
    location_country_name = models.CharField(max_length=100, blank=True)
    last_url = models.CharField(max_length=2000, blank=True)
    added_at = models.DateTimeField()
    cycle_minutes = models.PositiveIntegerField(default=60)
    phase_minutes = models.PositiveIntegerField(default=0)
    #: 0: never online by itself (only while in a session).
    online_minutes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "short_id"], name="upscope_sb_visitor_short_id"
            )
        ]
        indexes = [
            models.Index(fields=["account", "-added_at"], name="upscope_sb_visitor_new")
        ]

    def __str__(self) -> str:
        return self.short_id


class Agent(models.Model):
    """A user (found by e-mail) or an external agent (found by external id:
    the watch URL's `agent.id`, made on first use like Upscope's Co-Browsing
    API agents)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    agent_id = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "agent_id"], name="upscope_sb_agent_id"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.agent_id


class CobrowsingSession(models.Model):
    """A session. Running while `ended_at` is null; it ends by itself at
    `ends_at` (swept on the next request of its account) or when stopped."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveBigIntegerField()
    visitor_short_id = models.CharField(max_length=40)
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    went_live = models.BooleanField(default=True)
    call_length_seconds = models.PositiveIntegerField(default=0)
    features_used = models.JSONField(default=list, blank=True)
    #: [{id, name, agent_identifier, _type}] as answered.
    agents = models.JSONField(default=list, blank=True)
    #: " id id " of `agents`, for an agent's sessions with one LIKE.
    agent_ids = models.CharField(max_length=400, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    webhook_url = models.CharField(max_length=2000, blank=True)
    #: Body of the watch URL request (branding, permissions, notes, …).
    options = models.JSONField(default=dict, blank=True)
    watch_token = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "number"], name="upscope_sb_session_number"
            )
        ]
        indexes = [
            models.Index(
                fields=["account", "updated_at"], name="upscope_sb_session_updated"
            ),
            models.Index(
                fields=["account", "ended_at", "ends_at"],
                name="upscope_sb_session_running",
            ),
            models.Index(
                fields=["account", "visitor_short_id", "number"],
                name="upscope_sb_session_visitor",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def public_id(self) -> str:
        return f"s_{self.number}"
