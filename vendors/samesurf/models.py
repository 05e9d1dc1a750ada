"""Local copies of SameSurf objects, all on the shared SyncedModel base.

Room identity. `analyticsrooms` names a room by (room number, version): SameSurf
reuses room numbers, the version tells the uses apart. `runningrooms` names a
room by its number only. One real room is one `SameSurfRoom` row (and so one
activity) whichever listing saw it first:

- a room first seen in analytics gets `external_id` "<number>:<version>";
- a room first seen running gets "<number>@<start epoch>" and `version` None;
  when analytics later lists (number, version) with a start time close to it
  (`ADOPT_SECONDS`), that row is *adopted*: it takes the version and keeps its
  `external_id`, so no second row (or activity) is created (sync.py).

`(account, number, version)` is unique where the version is known. No secret is
ever kept here or in `raw`: API keys and secrets of subscriptions live in
`SameSurfApiKey.secret_encrypted` (core.crypto, as account credentials).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import models
from django.utils import timezone

from cobrowse_portal.core import crypto
from cobrowse_portal.vendorkit.models import SyncedModel

#: A running room and an analytics room of the same number are the same room
#: when their start times are at most this far apart. SameSurf does not say
#: whether `date` (analytics) equals `starttime` (runningrooms); its examples
#: show a room's first event 10 s after its `date`, so a small tolerance.
ADOPT_SECONDS = 15 * 60


def running_external_id(number: str, started_at) -> str:
    """The key of a room first seen running (its version is not known yet)."""
    stamp = int(started_at.timestamp()) if started_at else 0
    return f"{number}@{stamp}"


def analytics_external_id(number: str, version: int) -> str:
    return f"{number}:{version}"


class SameSurfRoom(SyncedModel):
    """A SameSurf room that ran or is running.

    Filled by `runningrooms` (live stream: number, start time, invitations,
    title; `is_running`), `analyticsrooms` (history stream: version, date,
    duration, number of screen recordings, experience) and `create` (a room the
    portal started: start URL, options, leader/invitee links). The host's name
    comes from `roomanalytics` when fetched (`SameSurfRoomAnalytics`).
    """

    number = models.CharField(max_length=32)
    #: SameSurf's room version; None while only `runningrooms` has seen it.
    version = models.IntegerField(null=True, blank=True)
    title = models.CharField(max_length=300, blank=True)
    start_url = models.URLField(max_length=1000, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: Seconds (analytics `duration`; the docs give no unit, the examples read
    #: as seconds).
    duration = models.IntegerField(null=True, blank=True)
    #: `screenrecordings`: how many recordings (numbered 0..n-1) the room has.
    recordings = models.IntegerField(default=0)
    experience = models.CharField(max_length=100, blank=True)
    is_running = models.BooleanField(default=False)
    leader_link = models.URLField(max_length=500, blank=True)
    invitee_link = models.URLField(max_length=500, blank=True)
    #: bookmarks, session cookies/storage names, disabled features of a room the
    #: portal started (as sent; cookie and storage *values* are not kept).
    options = models.JSONField(default=dict, blank=True)
    #: The host's name from `roomanalytics` (SameSurf has no user API).
    host_name = models.CharField(max_length=200, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-started_at", "-id"]
        constraints = [
            *SyncedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["account", "number", "version"],
                condition=models.Q(version__isnull=False),
                name="samesurf_room_number_version",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "-started_at", "-id"], name="samesurf_room_start_idx"
            ),
            # Identity lookups by number (adoption, live matching).
            models.Index(fields=["account", "number"], name="samesurf_room_number_idx"),
            models.Index(
                fields=["account", "-started_at", "-id"],
                name="samesurf_room_running_idx",
                condition=models.Q(is_running=True, removed_at__isnull=True),
            ),
        ]

    LIST_DEFER = ("raw", "options", "fingerprint")

    @classmethod
    def after_upsert(cls, account, rows: list[dict]) -> None:
        """vendorkit.bulk.upsert's hook: one SameSurfRecording per recording
        (0..n-1) of the rooms just written, in the same transaction."""
        counts = {r["external_id"]: r["recordings"] for r in rows if "recordings" in r}
        if not any(counts.values()):
            return
        # The rooms' keys, where the write returned them (bulk.write_rows' `ids`).
        ids = {r["external_id"]: r["id"] for r in rows if "id" in r}
        SameSurfRecording.sync_for(account, counts, ids=ids)

    def __str__(self) -> str:
        return self.title or self.number


class SameSurfRecording(SyncedModel):
    """Recording number `index` (0..n-1) of a room, from the room's
    `screenrecordings` count (analyticsrooms).

    Links (screenrecordingpubliclink / screenrecordingthumbnail /
    screenrecordingimage) are fetched on demand and short-lived: each is kept
    with its expiry and never shown after it (`valid()`).
    """

    room = models.ForeignKey(
        SameSurfRoom, on_delete=models.CASCADE, related_name="recording_rows"
    )
    index = models.IntegerField()
    public_link = models.URLField(max_length=1000, blank=True)
    public_link_expires_at = models.DateTimeField(null=True, blank=True)
    thumbnail_link = models.URLField(max_length=1000, blank=True)
    thumbnail_expires_at = models.DateTimeField(null=True, blank=True)
    image_link = models.URLField(max_length=1000, blank=True)
    image_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["room", "index"]
        constraints = [
            *SyncedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["room", "index"], name="samesurf_recording_room_index"
            ),
        ]

    KINDS = ("public_link", "thumbnail", "image")

    @staticmethod
    def key(room_external_id: str, index: int) -> str:
        return f"{room_external_id}#{index}"

    @classmethod
    def sync_for(
        cls, account, counts: dict[str, int], *, ids: dict[str, int] | None = None
    ) -> None:
        """Rows 0..n-1 for each room external id -> n (bulk; one id lookup for
        the rooms whose primary key `ids` does not give)."""
        from django.db import connections, router

        from cobrowse_portal.vendorkit.bulk import upsert

        # One plain query (the ORM's per-parameter work on the batch's 1,000 ids
        # costs more than the query itself).
        ids = dict(ids or {})
        keys = [k for k, n in counts.items() if n and k not in ids]
        connection = connections[router.db_for_read(SameSurfRoom)]
        table = connection.ops.quote_name(SameSurfRoom._meta.db_table)
        with connection.cursor() as cursor:
            for i in range(0, len(keys), 1000):
                part = keys[i : i + 1000]
                cursor.execute(
                    f"SELECT external_id, id FROM {table} WHERE account_id = %s "
                    f"AND external_id IN ({', '.join(['%s'] * len(part))})",
                    [account.pk, *part],
                )
                ids.update(cursor.fetchall())
        rows = [
            {
                "external_id": cls.key(ext, i),
                "room": ids[ext],
                "index": i,
                "raw": {"room": ext, "recording": i},
            }
            for ext, n in counts.items()
            if ext in ids
            for i in range(n or 0)
        ]
        if rows:
            upsert(cls, account, rows)

    def link(self, kind: str) -> str:
        """The stored link of `kind` while it is valid, else ""."""
        field = "public_link" if kind == "public_link" else f"{kind}_link"
        expires = getattr(self, f"{kind}_expires_at")
        if not expires or expires <= timezone.now():
            return ""
        return getattr(self, field)

    def __str__(self) -> str:
        return f"{self.room} #{self.index}"


class SameSurfRoomAnalytics(SyncedModel):
    """One room's events and users (`roomanalytics`), fetched by an explicit
    action (services.fetch_room_analytics) and stored; `external_id` is the
    room's."""

    room = models.OneToOneField(
        SameSurfRoom, on_delete=models.CASCADE, related_name="analytics"
    )
    title = models.CharField(max_length=300, blank=True)
    events = models.JSONField(default=list, blank=True)
    users = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"analytics of {self.room}"


class SameSurfScheduledRoom(SyncedModel):
    """A room scheduled for later (`create` with an `eventtime`), as the portal
    created it: SameSurf has no call listing scheduled rooms, so only rooms
    scheduled from the portal are known. `external_id` is the room number."""

    title = models.CharField(max_length=300, blank=True)
    start_url = models.URLField(max_length=1000, blank=True)
    event_at = models.DateTimeField()
    timezone = models.CharField(max_length=64, blank=True)
    length_minutes = models.IntegerField(null=True, blank=True)
    invitees = models.TextField(blank=True)
    invite_message = models.TextField(blank=True)
    leader_link = models.URLField(max_length=500, blank=True)
    invitee_link = models.URLField(max_length=500, blank=True)
    options = models.JSONField(default=dict, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["event_at", "id"]
        indexes = [
            models.Index(fields=["account", "event_at"], name="samesurf_sched_at_idx")
        ]

    def __str__(self) -> str:
        return self.title or self.external_id


class SameSurfToken(SyncedModel):
    """A limited-use invitation token (`createlimitedusetoken`), created from
    the portal; revoking it (`deletelimitedusetoken`) sets `removed_at`. There
    is no call listing tokens. `external_id` is the token."""

    room = models.ForeignKey(
        SameSurfRoom,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tokens",
    )
    room_number = models.CharField(max_length=32)
    usage_limit = models.IntegerField()
    is_leader = models.BooleanField(default=False)
    users_name = models.CharField(max_length=200, blank=True)
    link = models.URLField(max_length=500, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.room_number} …{self.external_id[-4:]}"


class SameSurfUsage(SyncedModel):
    """One hourly snapshot of `analyticsoverview` (usage stream); `external_id`
    is the hour (UTC, "2026-12-01T21"). The day's figures also go to the control
    room's UsageDay (`record_vendor_usage`)."""

    taken_at = models.DateTimeField()
    rooms_total = models.IntegerField(null=True, blank=True)
    rooms_today = models.IntegerField(null=True, blank=True)
    rooms_this_week = models.IntegerField(null=True, blank=True)
    rooms_this_month = models.IntegerField(null=True, blank=True)
    #: Minutes, as SameSurf reports them.
    average_minutes_all_time = models.IntegerField(null=True, blank=True)
    average_minutes_today = models.IntegerField(null=True, blank=True)
    average_minutes_this_week = models.IntegerField(null=True, blank=True)
    average_minutes_this_month = models.IntegerField(null=True, blank=True)
    url_latest = models.URLField(max_length=1000, blank=True)
    url_most_popular = models.CharField(max_length=300, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-taken_at"]
        indexes = [
            models.Index(fields=["account", "-taken_at"], name="samesurf_usage_at_idx")
        ]

    def __str__(self) -> str:
        return f"{self.account} at {self.taken_at:%Y-%m-%d %H:00}"


class SameSurfSubscription(SyncedModel):
    """A reseller's client subscription, as the portal created it
    (`reseller/createsubscription`). SameSurf documents no call listing
    subscriptions: the subscriptions stream reconciles these rows by checking
    each stored key instead (sync.pull_subscriptions). `external_id` is the
    subscription's name (unique at SameSurf)."""

    name = models.CharField(max_length=200)
    license_count = models.IntegerField()
    overrides = models.JSONField(default=list, blank=True)
    bookmarks = models.JSONField(default=list, blank=True)
    disabled_features = models.JSONField(default=list, blank=True)
    #: The client workspace created for it (if any), and its SameSurf account.
    client_workspace = models.ForeignKey(
        "core.Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    client_account = models.ForeignKey(
        "core.VendorAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: What the last check with the subscription's own keys found.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_status = models.CharField(max_length=16, blank=True)  # ok | rejected | ""
    rooms_total = models.IntegerField(null=True, blank=True)
    rooms_this_month = models.IntegerField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def key_digest(api_key: str) -> str:
    """A stable, non-reversible id of an API key (its `external_id`)."""
    return hashlib.sha256(f"samesurf-key:{api_key}".encode()).hexdigest()[:40]


class SameSurfApiKey(SyncedModel):
    """An API key of a subscription (`reseller/createapikey`). Key and secret
    are stored only encrypted (`secret_encrypted`, core.crypto); `external_id`
    is a digest of the key and `hint` its last four characters."""

    subscription = models.ForeignKey(
        SameSurfSubscription, on_delete=models.CASCADE, related_name="api_keys"
    )
    hint = models.CharField(max_length=8, blank=True)
    secret_encrypted = models.TextField(editable=False)
    #: What the last check found: ok, rejected (errorcode 101) or "" (not yet).
    check_status = models.CharField(max_length=16, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["subscription", "id"]

    def __str__(self) -> str:
        return f"…{self.hint}"

    @classmethod
    def build(cls, subscription, api_key: str, api_secret: str) -> SameSurfApiKey:
        row = cls(
            account=subscription.account,
            subscription=subscription,
            external_id=key_digest(api_key),
            hint=api_key[-4:],
            raw={"subscription": subscription.name},
            synced_at=timezone.now(),
        )
        row.set_secret(api_key, api_secret)
        return row

    def set_secret(self, api_key: str, api_secret: str) -> None:
        self.secret_encrypted = crypto.encrypt_json(
            {"api_key": api_key, "api_secret": api_secret}
        )

    set_secret.alters_data = True

    def credentials(self) -> dict[str, str]:
        """{"api_key", "api_secret"}, decrypted (for a client only)."""
        return crypto.decrypt_json(self.secret_encrypted)


#: How long a room that went off `runningrooms` waits for analytics to name
#: its version before the history window stops reaching back for it.
PENDING_ADOPTION = timedelta(days=2)
