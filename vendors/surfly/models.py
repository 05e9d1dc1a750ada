"""Local copies of Surfly objects, all on the shared SyncedModel base."""

from __future__ import annotations

from django.db import models, transaction

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

    @classmethod
    def from_db(cls, db, field_names, values):
        row = super().from_db(db, field_names, values)
        # What the tag table holds for this row, so save() rewrites it only on change.
        if "tags" in row.__dict__:
            row._stored_tags = tag_keys(row.tags)
        return row

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if fields is not None and "tags" not in fields:
            return
        keys = tag_keys(self.tags)
        if getattr(self, "_stored_tags", None) != keys:
            SessionTag.replace(self.account_id, {self.pk: keys}, using=self._state.db)
            self._stored_tags = keys

    @classmethod
    def after_upsert(cls, account, rows: list[dict]) -> None:
        """vendorkit.bulk.upsert's hook: keep the tag table in step with the rows
        just written (one id lookup, one delete, one insert per batch)."""
        tagged = {r["external_id"]: tag_keys(r["tags"]) for r in rows if "tags" in r}
        if not tagged:
            return
        ids = dict(
            cls.objects.filter(
                account=account, external_id__in=list(tagged)
            ).values_list("external_id", "pk")
        )
        SessionTag.replace(
            account.pk, {ids[e]: keys for e, keys in tagged.items() if e in ids}
        )

    def __str__(self) -> str:
        return self.formatted_id or self.external_id


def tag_keys(tags) -> list[str]:
    """The tag table's keys for a session's `tags`: lower-cased, each once, in order.

    The history filter matches a whole tag regardless of case, as it always has."""
    if not isinstance(tags, list):
        return []
    seen: dict[str, None] = {}
    for tag in tags:
        if isinstance(tag, str) and tag:
            seen.setdefault(tag.lower(), None)
    return list(seen)


class SessionTag(models.Model):
    """One tag of one session: the history tag filter reads this index, not JSON.

    Derived from `CobrowseSession.tags` and kept in step by every write path
    (bulk upsert through `after_upsert`, `save()` for webhooks and edits); a
    deleted session takes its rows with it.
    """

    account = models.ForeignKey(
        "core.VendorAccount", on_delete=models.CASCADE, related_name="+"
    )
    session = models.ForeignKey(
        CobrowseSession, on_delete=models.CASCADE, related_name="tag_rows"
    )
    tag = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "tag"], name="surfly_sesstag_session_tag"
            )
        ]
        indexes = [
            models.Index(
                fields=["account", "tag", "session"], name="surfly_sesstag_lookup_idx"
            )
        ]

    def __str__(self) -> str:
        return self.tag

    @classmethod
    def replace(cls, account_id: int, keys_by_session: dict, *, using=None) -> None:
        """Make the rows of these sessions exactly `keys_by_session[session_id]`."""
        if not keys_by_session:
            return
        manager = cls.objects.db_manager(using) if using else cls.objects
        ids = list(keys_by_session)
        with transaction.atomic(using=manager.db):
            for i in range(0, len(ids), 1000):
                manager.filter(session_id__in=ids[i : i + 1000]).delete()
            manager.bulk_create(
                [
                    cls(account_id=account_id, session_id=pk, tag=key)
                    for pk, keys in keys_by_session.items()
                    for key in keys
                ],
                batch_size=1000,
            )


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
