"""Portal-wide models: workspaces and roles, vendor accounts, sync bookkeeping."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import connections, models, router
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from cobrowse_portal.vendorkit import registry

from . import crypto
from .choices import (
    OPEN_STATUSES,
    ROLE_RANK,
    AccountStatus,
    ActivityKind,
    ActivityStatus,
    EventStatus,
    Role,
    RunStatus,
    Trigger,
    WorkspaceKind,
    WriteStatus,
)


class Workspace(models.Model):
    """A tenant. Owns vendor accounts; a reseller workspace owns client workspaces."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(
        max_length=16, choices=WorkspaceKind.choices, default=WorkspaceKind.STANDALONE
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clients",
        help_text="The reseller workspace that owns this client workspace.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Archived: nobody can open it and its vendor accounts are off; "
        "the data stays (clear this to restore it).",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="IANA time zone (e.g. Europe/Amsterdam): usage days and charts "
        "count in it.",
    )
    #: The write generation of what the control-room pages show (core.pagecache):
    #: every write into the activity index, the directory, the rollups, sync runs
    #: and kept writes of this workspace adds one, in the writer's transaction.
    #: Read with the workspace on every request (no query of its own); never
    #: written by `save()`, so a form or admin edit cannot set it back.
    index_generation = models.BigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if (
            not self._state.adding
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "index_generation"
            ]
        return super().save(*args, **kwargs)

    @property
    def is_reseller(self) -> bool:
        return self.kind == WorkspaceKind.RESELLER


class Membership(models.Model):
    """A user's role in one workspace."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workspace"], name="core_membership_user_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


def effective_role(user, workspace: Workspace) -> str | None:
    """The user's role in `workspace`: their own membership, or for a client
    workspace their admin/manager role in the owning reseller workspace."""
    if not user.is_authenticated:
        return None
    best = None
    for m in Membership.objects.filter(
        Q(workspace=workspace) | Q(workspace_id=workspace.parent_id), user=user
    ).only("role", "workspace_id"):
        role = m.role
        if m.workspace_id != workspace.pk and role == Role.AGENT:
            continue  # a reseller's agents do not act inside client workspaces
        if best is None or ROLE_RANK[role] > ROLE_RANK[best]:
            best = role
    return best


def workspaces_for(user) -> models.QuerySet[Workspace]:
    """Every workspace `user` can open: memberships plus reseller-owned clients."""
    direct = Membership.objects.filter(user=user).values("workspace_id")
    managed = Membership.objects.filter(
        user=user, role__in=[Role.ADMIN, Role.MANAGER]
    ).values("workspace_id")
    return Workspace.objects.filter(
        Q(pk__in=direct) | Q(parent_id__in=managed), archived_at__isnull=True
    )


def archive_workspace(workspace: Workspace) -> None:
    """Close a workspace without losing its data: nobody can open it any more and
    its vendor accounts stop syncing (their schedules go with `enabled`)."""
    from django.utils import timezone

    workspace.archived_at = timezone.now()
    workspace.save(update_fields=["archived_at"])
    for account in workspace.accounts.filter(enabled=True):
        account.enabled = False
        account.save()  # the post_save signal removes its beat schedules


#: Stands for the user's pk while the ORM writes `open_workspaces`' SQL once per
#: database; never a real pk (they are positive).
_USER_PLACEHOLDER = -918273645
_open_sql: dict[tuple[str, str], tuple[str, tuple]] = {}


def _open_workspaces_query(user_pk: int):
    mine = Membership.objects.filter(user=user_pk)
    return (
        workspaces_for(user_pk)
        .annotate(
            own_role=models.Subquery(
                mine.filter(workspace=models.OuterRef("pk")).values("role")[:1]
            ),
            parent_role=models.Subquery(
                mine.filter(workspace=models.OuterRef("parent_id")).values("role")[:1]
            ),
        )
        .order_by("name", "pk")
    )


def unique_workspace_slug(name: str) -> str:
    """A free workspace slug made from `name` ("acme", "acme-2", …)."""
    from django.utils.text import slugify

    base = (slugify(name) or "client")[:70]
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_client_workspace(
    parent: Workspace,
    name: str,
    *,
    vendor: str,
    base_url: str,
    credentials: dict[str, str],
    account_name: str,
) -> tuple[Workspace, VendorAccount]:
    """A client workspace owned by the reseller workspace `parent`, with one
    vendor account holding `credentials` (encrypted, as every account's): what
    provisioning a client at a vendor creates (Surfly clients, SameSurf
    subscriptions). Call it inside the transaction that stores the vendor row."""
    workspace = Workspace.objects.create(
        name=name[:120],
        slug=unique_workspace_slug(name),
        kind=WorkspaceKind.CLIENT,
        parent=parent,
    )
    account = VendorAccount(
        workspace=workspace,
        vendor=vendor,
        name=account_name[:120],
        base_url=base_url,
    )
    account.set_credentials(credentials)
    account.save()
    return workspace, account


def open_workspaces(user) -> list[tuple[Workspace, str | None]]:
    """`workspaces_for(user)` by name, each with `effective_role(user, it)`, in one
    query (the per-request lookup of WorkspaceMiddleware).

    Compiling this query (two subqueries, an OR of two more) cost more CPU than
    the rest of the request's bookkeeping, so the ORM writes its SQL once per
    database with a placeholder for the user's pk, and every request runs that
    SQL with the pk in the placeholder's place."""
    known = getattr(user, "_open_workspaces", None)
    if known is not None:  # read with the user (core.auth.PortalBackend)
        return known
    using = router.db_for_read(Workspace)
    key = (using, connections[using].vendor)
    plan = _open_sql.get(key)
    if plan is None:
        query = _open_workspaces_query(_USER_PLACEHOLDER).query
        sql, params = query.get_compiler(using=using).as_sql()
        assert _USER_PLACEHOLDER in params
        plan = _open_sql[key] = (sql, tuple(params))
    sql, params = plan
    pk = user.pk
    rows = Workspace.objects.db_manager(using).raw(
        sql, [pk if p == _USER_PLACEHOLDER else p for p in params]
    )
    return effective_roles(rows)


def effective_roles(rows) -> list[tuple[Workspace, str | None]]:
    """Each workspace row of `_open_workspaces_query` (with its `own_role` and
    `parent_role`) with the user's effective role there."""
    out = []
    for ws in rows:
        best = ws.own_role
        # As effective_role: a reseller's agents do not act inside client workspaces.
        parent = ws.parent_role
        if (
            parent
            and parent != Role.AGENT
            and (best is None or ROLE_RANK[parent] > ROLE_RANK[best])
        ):
            best = parent
        out.append((ws, best))
    return out


WEBHOOK_TOKEN_MASK = "••••••••"


def _webhook_token() -> str:
    return secrets.token_urlsafe(32)


class VendorAccount(models.Model):
    """One account at one vendor, owned by a workspace; credentials encrypted."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="accounts"
    )
    vendor = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    base_url = models.URLField(max_length=300)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    status = models.CharField(
        max_length=20, choices=AccountStatus.choices, default=AccountStatus.NEW
    )
    status_message = models.CharField(max_length=500, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    credentials_changed_at = models.DateTimeField(null=True, blank=True)
    #: When the account's first webhook event arrived (filled by the first pull
    #: that reconciles webhooks with polls, `vendorkit.reconciliation`): a change
    #: from before it was never going to come by webhook.
    webhooks_since = models.DateTimeField(null=True, blank=True, editable=False)
    #: When the account's activities last changed (within a minute: written by
    #: `vendorkit.activity.index_rows` in the write's transaction at most once a
    #: minute), so "no new data" reads one column instead of scanning the index.
    data_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    webhook_token = models.CharField(
        max_length=64, default=_webhook_token, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "vendor", "name"], name="core_account_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.spec.label}: {self.name}"

    @property
    def spec(self) -> registry.VendorSpec:
        return registry.get(self.vendor)

    @cached_property
    def credentials(self) -> dict[str, str]:
        return crypto.decrypt_json(self.credentials_encrypted)

    def set_credentials(self, values: dict[str, str]) -> None:
        """Encrypt and store; a change clears 'needs attention'."""
        self.credentials_encrypted = crypto.encrypt_json(values)
        self.__dict__.pop("credentials", None)
        self.credentials_changed_at = timezone.now()
        if self.status == AccountStatus.NEEDS_ATTENTION:
            self.status, self.status_message = AccountStatus.NEW, ""

    set_credentials.alters_data = True

    @property
    def needs_attention(self) -> bool:
        return self.status == AccountStatus.NEEDS_ATTENTION

    def client(self):
        return self.spec.client_for(self)

    @property
    def webhook_path(self) -> str:
        """Where the vendor posts this account's events; the token in it is a
        secret (anyone who has it can post events), shown to admins only."""
        return f"/hooks/{self.pk}/{self.webhook_token}/"

    def hide_webhook_token(self, text: str) -> str:
        """`text` (e.g. a webhook URL) with this account's webhook token masked."""
        if not (text and self.webhook_token):
            return text
        return text.replace(self.webhook_token, WEBHOOK_TOKEN_MASK)


class SyncRun(models.Model):
    """One run of one stream of one account: what happened, with counts."""

    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="runs"
    )
    stream = models.CharField(max_length=40)
    trigger = models.CharField(
        max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULED
    )
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the running worker."
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    #: Webhook-versus-poll reconciliation (`vendorkit.reconciliation`), only on runs
    #: of a stream whose records the vendor's webhooks also deliver (None on the
    #: others): changes this pull found that no webhook had delivered, records
    #: it pulled that a webhook had delivered, and the account's events older
    #: than the grace period that no pull ever matched (counted at the run's end).
    webhook_missed = models.PositiveIntegerField(null=True, blank=True)
    webhook_matched = models.PositiveIntegerField(null=True, blank=True)
    webhook_unmatched = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["account", "stream", "-queued_at"]),
            models.Index(fields=["status", "-queued_at"]),
            # The pulls that webhooks cover (reconciliation figures and alert).
            models.Index(
                fields=["account", "-queued_at"],
                condition=Q(webhook_missed__isnull=False),
                name="core_syncrun_reconciled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.stream} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SKIPPED)

    @property
    def webhook_miss_rate(self) -> float | None:
        """Of the records this pull found changed or confirmed that webhooks
        cover, the share (in %) no webhook had delivered (None: no sample)."""
        seen = (self.webhook_missed or 0) + (self.webhook_matched or 0)
        if self.webhook_missed is None or not seen:
            return None
        return 100 * self.webhook_missed / seen

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class SyncCursor(models.Model):
    """Where a stream stopped, saved after every page so a failed run resumes."""

    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="cursors"
    )
    stream = models.CharField(max_length=40)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "stream"], name="core_cursor_account_stream"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.stream} cursor"


class SyncClaim(models.Model):
    """Held while one (account, stream) runs; expires if the worker dies."""

    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="claims"
    )
    stream = models.CharField(max_length=40)
    token = models.CharField(max_length=40)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "stream"], name="core_claim_account_stream"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.stream} claim until {self.expires_at}"


class WebhookEvent(models.Model):
    """An inbound vendor webhook, stored once (deduplicated by the vendor's id)."""

    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="webhook_events"
    )
    external_id = models.CharField(max_length=64, null=True, blank=True)
    sequence = models.BigIntegerField(null=True, blank=True)
    event_type = models.CharField(max_length=80, blank=True)
    payload = models.JSONField(null=True, blank=True)
    body_excerpt = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    error = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    #: Webhook-versus-poll reconciliation (`vendorkit.reconciliation`): the external id
    #: of the record the event changes, for vendors that declare which pulled
    #: model their events cover (blank otherwise), and when a pull of that
    #: record matched it.
    record_key = models.CharField(max_length=200, blank=True, default="")
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="core_webhook_event_once"
            )
        ]
        indexes = [
            models.Index(fields=["account", "status", "sequence"]),
            # The events still waiting for a pull to match them (small: a
            # matched event leaves it): a pull batch's match and the run's
            # count of events that never matched.
            models.Index(
                fields=["account", "record_key"],
                condition=models.Q(matched_at__isnull=True) & ~models.Q(record_key=""),
                name="core_webhook_event_unmatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} #{self.external_id or self.pk}"


class PendingWrite(models.Model):
    """A change the vendor could not take right now (timeout, 5xx, 429), kept with
    what the user entered and replayed by Celery until the vendor answers.

    Only idempotent writes are deferred (PUT, PATCH, DELETE, ending a session):
    replaying one twice has the same effect as once. `action` names a service
    function marked `@retryable`; `kwargs` never holds secrets.

    The kept writes of one object (account + target) form a queue replayed oldest
    first (by id). A newer write of the same action folds the older one's kwargs
    in and the older is marked superseded (`superseded_by` points at the newer);
    a delete supersedes every earlier change to its object (see core.writes).
    """

    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="pending_writes"
    )
    action = models.CharField(max_length=200)
    target_model = models.CharField(max_length=100, blank=True)
    target_pk = models.BigIntegerField(null=True, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=300)
    status = models.CharField(
        max_length=16, choices=WriteStatus.choices, default=WriteStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(
                fields=["account", "target_model", "target_pk", "status", "id"],
                name="core_pendingwrite_queue",
            ),
        ]

    def __str__(self) -> str:
        return self.description


# --- the control room: the cross-vendor layer every vendor feeds ----------------------
class AgentIdentity(models.Model):
    """One person across vendors within a workspace, matched by e-mail.

    `email` is normalised (stripped, lower-cased) so "Ann@X.com " and "ann@x.com"
    are one person. Each vendor's agent or user row links here (`VendorAgent`)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="agent_identities"
    )
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"], name="core_agentidentity_email"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.email


class VendorAgent(models.Model):
    """A vendor's agent or user as the directory sees it, fed by that vendor's sync.

    `identity` is set by e-mail matching; `linked_by_hand` marks a manager's own
    decision (a link, or an unlink when `identity` is empty) that matching leaves
    alone."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="vendor_agents"
    )
    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="directory_agents"
    )
    vendor = models.CharField(max_length=32)
    external_id = models.CharField(max_length=128)  # as wide as the vendor rows'
    identity = models.ForeignKey(
        AgentIdentity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vendor_agents",
    )
    linked_by_hand = models.BooleanField(default=False)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=40, blank=True)
    #: As the vendor says (None: the vendor does not tell).
    available = models.BooleanField(null=True, blank=True)
    free = models.BooleanField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="core_vendoragent_account_ext"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "identity"], name="core_vagent_ws_ident"),
            models.Index(fields=["workspace", "email"], name="core_vagent_ws_email"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class Activity(models.Model):
    """One session, room, co-browse or chat at any vendor: the control room's index.

    Written by vendorkit's bulk upsert in the same transaction as the vendor rows it
    is derived from (a vendor declares the mapping in the registry), and by the
    webhook path; `manage.py rebuild_activity` recomputes it from the vendor tables.
    Cross-vendor pages read only this table. `search` is the lower-cased text the
    free-text search matches (agent, visitor, URL, title, tags). `counted_*` is what
    the row last contributed to the daily usage rollups, so a change adds only its
    difference (rollups are never rebuilt by rescanning the index)."""

    # No single-column indexes of their own: every lookup by workspace or account
    # (and the cascades) uses an index below that starts with it, and each index
    # less is one less to maintain on every write of the index.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    account = models.ForeignKey(
        VendorAccount,
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,
    )
    vendor = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    external_id = models.CharField(max_length=128)  # as wide as the vendor rows
    status = models.CharField(max_length=8, choices=ActivityStatus.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="seconds")
    agent = models.ForeignKey(
        AgentIdentity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,  # core_act_agent_start starts with it
    )
    #: The vendor's agent id and name as the vendor gave them.
    agent_external_id = models.CharField(max_length=128, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    visitor = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=1000, blank=True)
    title = models.CharField(max_length=300, blank=True)
    tags = models.JSONField(default=list, blank=True)
    #: The portal's own page for it (the vendor app's detail page), a path.
    link = models.CharField(max_length=300, blank=True)
    search = models.TextField(blank=True)
    counted_day = models.DateField(null=True, blank=True)
    counted_seconds = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "external_id"],
                name="core_activity_account_kind_ext",
            )
        ]
        indexes = [
            # Keyset pages, newest first, always within one workspace.
            models.Index(
                fields=["workspace", "-started_at", "-id"], name="core_act_ws_start"
            ),
            models.Index(
                fields=["workspace", "vendor", "-started_at", "-id"],
                name="core_act_ws_vendor",
            ),
            models.Index(
                fields=["workspace", "account", "-started_at", "-id"],
                name="core_act_ws_account",
            ),
            # The agent filter (an agent is in one workspace) and, led by the
            # agent, the foreign key's own lookups (SET_NULL): one index for both.
            models.Index(
                fields=["agent", "workspace", "-started_at", "-id"],
                name="core_act_agent_start",
            ),
            # A vendor agent linked (or unlinked) later: its activities follow.
            # Agent first: then the unique (account, kind, external_id) is the only
            # index that starts with the account, so the write path's key lookups
            # use it even before PostgreSQL has statistics on a fresh table (with
            # (account, agent) it scanned the account's rows per lookup).
            models.Index(
                fields=["agent_external_id", "account"], name="core_act_agent_acc"
            ),
            # The Live board: only open rows, a small index however big the table.
            models.Index(
                fields=["workspace", "-started_at", "-id"],
                name="core_act_ws_open",
                condition=Q(status__in=OPEN_STATUSES, removed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.get_kind_display()} {self.external_id}"


class ActivityTag(models.Model):
    """One tag of one activity (lower-cased): the tag filter reads this index."""

    # Covered by the unique (activity, tag) and the (workspace, tag, activity) index.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, related_name="tag_rows", db_index=False
    )
    tag = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "tag"], name="core_activitytag_activity_tag"
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "tag", "activity"], name="core_acttag_lookup"
            )
        ]

    def __str__(self) -> str:
        return self.tag


class UsageDay(models.Model):
    """Daily usage of one account, in its workspace's time zone: the index's
    activities, seconds and distinct agents of that day, plus the vendor's own
    figures where it reports them (`figures`: visitors, chats, ratings, ...)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="usage_days"
    )
    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="usage_days"
    )
    vendor = models.CharField(max_length=32)
    day = models.DateField()
    activities = models.PositiveIntegerField(default=0)
    seconds = models.PositiveBigIntegerField(default=0)
    agents = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day"], name="core_usageday_account_day"
            )
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="core_usage_ws_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}"

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)


class UsageDayAgent(models.Model):
    """An agent seen on one account on one day: `UsageDay.agents` counts these, so
    distinct agents stay exact while rows are added one change at a time."""

    account = models.ForeignKey(
        VendorAccount, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    agent_key = models.CharField(max_length=128)
    #: That agent's activities of that day: the row goes when it drops to 0, so an
    #: activity that moves day or is removed keeps `UsageDay.agents` exact.
    activities = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "agent_key"], name="core_usagedayagent_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.agent_key}"
