"""Local copies of Surfly objects, all on the shared SyncedModel base."""

from __future__ import annotations

from django.db import models

from cobrowse_portal.vendorkit.models import SyncedModel


class SurflyAgent(SyncedModel):
    """A Surfly agent (GET /agents/)."""

    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=16, default="agent")
    available = models.BooleanField(null=True)
    is_free = models.BooleanField(
        default=False, help_text="Ready to take a call (GET /agents/?free=true)."
    )
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class CobrowseSession(SyncedModel):
    """A Surfly co-browsing session, live or ended (sessions and history).

    `external_id` is Surfly's `session_id` (webhooks name sessions by it); `api_id`
    is Surfly's `id`, used in API paths. The spec's examples show the two differ,
    so both are kept and neither is assumed equal to the other.
    """

    api_id = models.CharField(max_length=128, blank=True)
    formatted_id = models.CharField(max_length=64, blank=True)
    agent_id = models.CharField(max_length=64, blank=True)
    follower_link = models.URLField(max_length=500, blank=True)
    leader_link = models.URLField(max_length=500, blank=True)
    server = models.CharField(max_length=200, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration = models.IntegerField(null=True, blank=True)
    participant_num = models.IntegerField(null=True, blank=True)
    successful_start = models.BooleanField(null=True)
    queued = models.BooleanField(null=True)
    waiting_time = models.IntegerField(null=True, blank=True)
    pin = models.CharField(max_length=16, blank=True)
    start_url = models.URLField(max_length=1000, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    last_event_sequence = models.BigIntegerField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-start_time", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-start_time", "-id"], name="surfly_sess_start_idx"
            ),
            models.Index(
                fields=["account", "is_active"], name="surfly_sess_active_idx"
            ),
            # The PIN filter, already in page order: a rare PIN is one index range.
            models.Index(
                fields=["account", "pin", "-start_time", "-id"],
                name="surfly_sess_pin_idx",
            ),
            models.Index(
                fields=["account", "agent_id", "-start_time", "-id"],
                name="surfly_sess_agent_idx",
            ),
            # Live sessions: a few active rows among a million ended ones.
            models.Index(
                fields=["account", "-start_time", "-id"],
                name="surfly_sess_live_idx",
                condition=models.Q(is_active=True, removed_at__isnull=True),
            ),
        ]

    # Fields the list pages never show: left unread there (`.defer(*LIST_DEFER)`).
    LIST_DEFER = ("raw", "meta", "options", "fingerprint", "leader_link")

    # The tag filter reads the control room's tag table (core.ActivityTag), which
    # vendorkit keeps in step on every write path: sessions are activities.

    def __str__(self) -> str:
        return self.formatted_id or self.external_id


class SurflyClient(SyncedModel):
    """A reseller's client company (GET /clients/all/). The client's REST key is
    never stored here; it lives only encrypted in a client workspace's account."""

    company_name = models.CharField(max_length=200)
    plan = models.CharField(max_length=50, blank=True)
    agent_count = models.IntegerField(null=True, blank=True)
    widget_key = models.CharField(max_length=100, blank=True)
    domains = models.JSONField(default=list, blank=True)
    #: The client workspace the portal created for this client (if any), so
    #: deleting the client can ask what becomes of it.
    client_workspace = models.ForeignKey(
        "core.Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(SyncedModel.Meta):
        ordering = ["company_name"]

    def __str__(self) -> str:
        return self.company_name


class SurflyWebhook(SyncedModel):
    """A webhook registered at Surfly (one event category each)."""

    url = models.URLField(max_length=500)
    category = models.CharField(max_length=80)
    enabled = models.BooleanField(default=True)
    ssl_verification = models.BooleanField(default=True)
    company_id = models.CharField(max_length=64, blank=True)
    disabled_by_portal = models.BooleanField(
        default=False,
        help_text="Switched off from the portal (not by Surfly after failures).",
    )

    class Meta(SyncedModel.Meta):
        ordering = ["category", "url"]

    def __str__(self) -> str:
        return f"{self.category} → {self.url}"

    @property
    def switched_off_by_surfly(self) -> bool:
        return not self.enabled and not self.disabled_by_portal and not self.removed_at


class SurflyCompanyOptions(SyncedModel):
    """The company's default session options (GET /company/options/); one row."""

    options = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"options of {self.account}"


class SurflyServer(SyncedModel):
    """A Surfly public cloud server (GET /servers)."""

    description = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=32, blank=True)
    ips = models.JSONField(default=list, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["region", "description"]

    def __str__(self) -> str:
        return self.description or self.external_id
