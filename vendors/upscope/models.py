"""Local copies of Upscope objects, all on the shared SyncedModel base.

Contract: shared/vendor-docs/upscope-api-v1.3.txt and vendor-apis.md §3. The
v1.3 docs give the usage figures and part of the Visitor; the Session and Agent
objects are undocumented beyond their ids, so their columns follow the v1.1
examples (vendor-apis.md §3.5) and whatever else Upscope sends stays in `raw`.
No secret is ever kept here or in `raw` (the REST key lives only encrypted in
the account; a visitor's `api_key` is Upscope's *public* key).
"""

from __future__ import annotations

from django.db import models, router

from cobrowse_portal.vendorkit.activity import rows_by_keys
from cobrowse_portal.vendorkit.models import SyncedModel


class UpscopeVisitor(SyncedModel):
    """A visitor recently seen (`list` / `search`, `visitors/{short_id}`).

    `external_id` is Upscope's `short_id` (the id in every visitor path).
    Upscope answers at most 10 visitors per search, so this table holds who was
    seen lately, not everyone: a visitor deleted at Upscope (one by one, or all
    offline ones) is marked removed, not deleted, so its sessions keep a name.
    """

    #: Four digits the visitor reads out to an agent (searchable as `1234`).
    lookup_code = models.CharField(max_length=8, blank=True)
    #: Your own id of the visitor (`uniqueId` in the SDK; searchable as `id:…`).
    unique_id = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    #: The name the visitor gave for a call (v1.3 `call_name`).
    call_name = models.CharField(max_length=200, blank=True)
    identities = models.JSONField(default=list, blank=True)
    #: `#TAG` strings, as Upscope sends them (searchable as `#TAG`).
    tags = models.JSONField(default=list, blank=True)
    #: "name:id" strings from the SDK's `integrationIds` (searchable as
    #: `integration_id:name:id`). The visitor object of the docs does not name
    #: this field; kept when a payload carries it.
    integration_ids = models.JSONField(default=list, blank=True)
    #: The auto-detected live-chat integration (e.g. "intercom").
    integration = models.CharField(max_length=60, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    browser_name = models.CharField(max_length=100, blank=True)
    device_name = models.CharField(max_length=100, blank=True)
    device_type = models.CharField(max_length=20, blank=True)
    location_city = models.CharField(max_length=100, blank=True)
    location_country = models.CharField(max_length=8, blank=True)
    location_country_name = models.CharField(max_length=100, blank=True)
    last_url = models.URLField(max_length=2000, blank=True)
    #: v1.3 `added_at` (v1.1 `first_seen_at`).
    added_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    is_online = models.BooleanField(default=False)
    is_in_session = models.BooleanField(default=False)
    is_waiting_for_call = models.BooleanField(default=False)

    class Meta(SyncedModel.Meta):
        ordering = ["-last_seen_at", "-id"]
        indexes = [
            # Visitors online (and recently seen), newest first.
            models.Index(
                fields=["account", "is_online", "-last_seen_at", "-id"],
                name="upscope_visitor_online_idx",
            ),
        ]

    LIST_DEFER = ("raw", "fingerprint", "identities", "integration_ids")

    @property
    def label(self) -> str:
        return visitor_label(
            self.call_name, self.email, self.unique_id, self.identities
        )

    @classmethod
    def labels_for(cls, account, short_ids) -> dict[str, tuple[str, list[str]]]:
        """short_id -> (label, tags) of the stored visitors among `short_ids`, in
        one query per 1,000 ids: what a session sync copies onto its sessions
        (an activity map may not query)."""
        ids = list(dict.fromkeys(str(i) for i in short_ids if i))
        out: dict[str, tuple[str, list[str]]] = {}
        names = ("external_id", "call_name", "email", "unique_id", "identities", "tags")
        fields = [cls._meta.get_field(n) for n in names]
        for r in rows_by_keys(cls, account, fields, ids, using=router.db_for_read(cls)):
            label = visitor_label(
                r["call_name"], r["email"], r["unique_id"], r["identities"]
            )
            tags = r["tags"]
            out[r["external_id"]] = (
                label,
                [t for t in tags or [] if isinstance(t, str)],
            )
        return out

    def __str__(self) -> str:
        return self.label or self.external_id


def visitor_label(call_name, email, unique_id, identities) -> str:
    """How a person names a visitor: the call name, e-mail, your id, or the
    first identity, whichever Upscope has ("" when none)."""
    for value in (call_name, email, unique_id):
        if isinstance(value, str) and value.strip():
            return value.strip()
    for value in identities or []:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


class UpscopeSession(SyncedModel):
    """A co-browsing session, ongoing or ended (`cobrowsing_sessions/list`, the
    sessions embedded in visitors and agents, and the watch URL's session-end
    post).

    `external_id` is the session's `id` ("s_123" in the v1.3 example; an
    integer in v1.1). The v1.3 session object is undocumented: columns follow
    the v1.1 example (`length_seconds`, `call_length_seconds`, `went_live`,
    `features_used`, `team`, `agents[]`) plus `metadata` (the watch URL's,
    which the docs say is added to the session) and `updated_at` (implied by
    the `updated_after` filter, not named).

    `visitor_label` and `tags` are the visitor's, copied by the sync from the
    stored visitor (`UpscopeVisitor.labels_for`) when it is known: the session
    names its visitor by short id only.
    """

    visitor_short_id = models.CharField(max_length=64, blank=True)
    visitor_label = models.CharField(max_length=200, blank=True)
    tags = models.JSONField(default=list, blank=True)
    #: The first agent of `agents` (who started it): Upscope's agent id, the
    #: agent's name and your external id of it (`agent_identifier`, the watch
    #: URL's `agent.id`).
    agent_id = models.CharField(max_length=64, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_identifier = models.CharField(max_length=200, blank=True)
    #: Every agent and observer, as sent ([{id, name, agent_identifier, _type}]).
    agents = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: The vendor's last change to the record (the `updated_after` filter's).
    updated_at = models.DateTimeField(null=True, blank=True)
    #: Seconds (`length_seconds`); while ongoing, as long as it ran when seen.
    duration = models.IntegerField(null=True, blank=True)
    #: Seconds of audio call (`call_length_seconds`).
    call_duration = models.IntegerField(null=True, blank=True)
    went_live = models.BooleanField(null=True)
    features_used = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    team_id = models.CharField(max_length=64, blank=True)
    #: Running: no `ended_at` (or Upscope's own `is_ongoing`, where sent).
    is_ongoing = models.BooleanField(default=False)

    class Meta(SyncedModel.Meta):
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-started_at", "-id"],
                name="upscope_sess_start_idx",
            ),
            # A visitor's sessions (visitor detail), in page order.
            models.Index(
                fields=["account", "visitor_short_id", "-started_at", "-id"],
                name="upscope_sess_visitor_idx",
            ),
            models.Index(
                fields=["account", "agent_id", "-started_at", "-id"],
                name="upscope_sess_agent_idx",
            ),
            # Ongoing sessions: a few rows among a long history.
            models.Index(
                fields=["account", "-started_at", "-id"],
                name="upscope_sess_ongoing_idx",
                condition=models.Q(is_ongoing=True, removed_at__isnull=True),
            ),
        ]

    # Fields the list pages never show: left unread there (`.defer(*LIST_DEFER)`).
    LIST_DEFER = ("raw", "fingerprint", "agents", "metadata", "features_used")

    def __str__(self) -> str:
        return self.external_id


class UpscopeAgent(SyncedModel):
    """An agent found by `agents/lookup` (by e-mail: an Upscope user; by
    external id: a Co-Browsing API agent, the watch URL's `agent.id`).

    `external_id` is Upscope's agent `id` ("u_1234"), the id a session's
    `agents[].id` carries, so sessions find their agent's directory entry by
    it. The v1.3 Agent object is undocumented beyond `id` and `sessions` (its
    last 10): name, e-mail, `agent_identifier` and `_type` are read where sent.
    """

    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    #: Your external id of the agent (`agent_identifier`).
    agent_identifier = models.CharField(max_length=200, blank=True)
    #: Upscope's `_type` (e.g. "user", "external_agent").
    kind = models.CharField(max_length=40, blank=True)
    #: How it was last looked up: "email" or "external_id".
    looked_up_by = models.CharField(max_length=16, blank=True)
    #: The start of the newest of its embedded sessions.
    last_session_at = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name", "id"]
        indexes = [
            # The daily lookup asks for the directory's e-mails not yet found.
            models.Index(fields=["account", "email"], name="upscope_agent_email_idx"),
            models.Index(
                fields=["account", "agent_identifier"],
                name="upscope_agent_ident_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class UpscopeUsage(SyncedModel):
    """One hourly snapshot of `usage` (usage stream); `external_id` is the hour
    (UTC, "2026-12-01T21"), as SameSurf's analytics overview. Upscope reports
    rolling windows ("today" is the last 24 hours, per the docs), not calendar
    days: the sync gives the day's figures to the control room's UsageDay
    (`record_vendor_usage`)."""

    taken_at = models.DateTimeField()
    agents_last_30_days = models.IntegerField(null=True, blank=True)
    agents_today = models.IntegerField(null=True, blank=True)
    sessions_last_30_days = models.IntegerField(null=True, blank=True)
    sessions_now = models.IntegerField(null=True, blank=True)
    sessions_today = models.IntegerField(null=True, blank=True)
    session_seconds_last_30_days = models.BigIntegerField(null=True, blank=True)
    session_seconds_today = models.BigIntegerField(null=True, blank=True)
    visitors_last_24_hrs = models.IntegerField(null=True, blank=True)
    visitors_online_now = models.IntegerField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-taken_at"]
        indexes = [
            models.Index(fields=["account", "-taken_at"], name="upscope_usage_at_idx")
        ]

    def __str__(self) -> str:
        return f"{self.account} at {self.taken_at:%Y-%m-%d %H:00}"
