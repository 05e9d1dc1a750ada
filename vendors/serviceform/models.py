"""Local copies of Serviceform objects, all on the shared SyncedModel base.

Contract: shared/vendor-docs/serviceform-public-api.txt and vendor-apis.md §4.
The docs give the Space and Item shapes (§4.4) and one example each of a lead,
a chat and the chat statistics; everything else is unknown (§4.6), so columns
hold what the examples show and whatever else Serviceform sends stays in `raw`.
No secret is ever kept here or in `raw` (the `sf-api-key` lives only,
encrypted, in the account).
"""

from __future__ import annotations

from datetime import date

from django.db import models, router, transaction

from cobrowse_portal.vendorkit.activity import record_vendor_usage
from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.models import SyncedModel

from .schemas import SpaceField


# --- flex spaces and their items ------------------------------------------------------
def field_defs(fields) -> list[SpaceField]:
    """The typed definitions of a space's stored `fields` JSON, in the vendor's
    order, read by the client's own parser (`schemas.SpaceField`: one reading
    of a field definition for the sync, the forms and the item columns).

    Entries without a `machine` name (or id) and repeats are skipped (an item's
    values are keyed by it, so such a field cannot be read or written), and so
    are options without a value (nothing could be stored for them)."""
    out: list[SpaceField] = []
    seen: set[str] = set()
    for f in fields if isinstance(fields, list) else []:
        if not isinstance(f, dict):
            continue
        d = SpaceField.parse(f)
        if not d.machine or d.machine in seen:
            continue
        seen.add(d.machine)
        d.options = [o for o in d.options if o.value]
        out.append(d)
    return out


class ServiceformSpace(SyncedModel):
    """A flex space (`GET /flex/spaces`): `external_id` is its `id`.

    `fields` keeps the field definitions as the vendor lists them (machine,
    name, id, type, required, options[{machine, label, value}]): the item form
    and the item list's columns are built from it (`field_defs()`)."""

    name = models.CharField(max_length=200, blank=True)
    fields = models.JSONField(default=list, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["account", "name"], name="sf_space_name_idx"),
        ]

    def field_defs(self) -> list[SpaceField]:
        return field_defs(self.fields)

    def __str__(self) -> str:
        return self.name or self.external_id


class ServiceformItem(SyncedModel):
    """An item of a flex space (`/flex/spaces/{spaceId}/items[/{itemId}]`).

    `external_id` is the item's `id`. # Unknown (vendor-apis.md §4.4): the docs
    do not say whether an item id is unique across spaces; it is taken as
    unique per account (the paths name the space too, so `space_external_id`
    is kept for them). How custom field values appear in an item is not shown
    either: `values` holds them keyed by field `machine` name, as the create
    body is (inferred, §4.3)."""

    space = models.ForeignKey(
        ServiceformSpace, on_delete=models.CASCADE, related_name="items"
    )
    #: The space's vendor id (`space_id`), for the item paths.
    space_external_id = models.CharField(max_length=128)
    uid = models.CharField(max_length=128, blank=True)
    uuid = models.CharField(max_length=128, blank=True)
    #: `clientId`.
    client_id = models.CharField(max_length=128, blank=True)
    primary_field = models.CharField(max_length=500, blank=True)
    values = models.JSONField(default=dict, blank=True)
    #: The vendor's `created` / `updated` times.
    created = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)
    last_updater = models.CharField(max_length=200, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-updated", "-id"]
        indexes = [
            # A space's items, last changed first (the items page).
            models.Index(
                fields=["account", "space", "-updated", "-id"],
                name="sf_item_space_upd_idx",
            ),
            # An exact primary field within a space (the admin's search), and
            # a space's items sorted by it. A substring search box needs a
            # trigram index (PostgreSQL) where the page adds one.
            models.Index(
                fields=["account", "space", "primary_field"],
                name="sf_item_space_primary_idx",
            ),
        ]

    LIST_DEFER = ("raw", "fingerprint")

    def __str__(self) -> str:
        return self.primary_field or self.external_id


# --- leads ----------------------------------------------------------------------------
class ServiceformLead(SyncedModel):
    """A lead (`GET /leads`): `external_id` is its `id`.

    Columns follow the docs' single example (`first_name`, `last_name`, `name`,
    `email`, `phone`, `source`, `tool_name`/`tid` for the form that caught it,
    `site`, `page_url`, `created`, `updated`, `timestamp`). # Unknown
    (vendor-apis.md §4.6): the lead shape beyond that example; `message` is the
    lead's own `message` where sent, else the first message of its `history`,
    and `values` the form's answers where a payload carries them."""

    name = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    source = models.CharField(max_length=100, blank=True)
    #: The form (Serviceform "tool") that caught the lead: `tool_name`, `tid`.
    form_name = models.CharField(max_length=200, blank=True)
    form_id = models.CharField(max_length=128, blank=True)
    site = models.CharField(max_length=200, blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    language = models.CharField(max_length=16, blank=True)
    #: The visitor's `uid` (the id a chat names its visitor by too).
    visitor_uid = models.CharField(max_length=128, blank=True)
    values = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-created", "-id"], name="sf_lead_created_idx"
            ),
            models.Index(fields=["account", "email"], name="sf_lead_email_idx"),
            models.Index(
                fields=["account", "form_id", "-created", "-id"],
                name="sf_lead_form_idx",
            ),
        ]

    LIST_DEFER = ("raw", "fingerprint", "values", "message")

    @property
    def label(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return self.name or full or self.email or self.phone or self.external_id

    def __str__(self) -> str:
        return self.label


# --- chats and their messages ---------------------------------------------------------
class ChatStatus(models.TextChoices):
    OPEN = "open", "Open"
    ENDED = "ended", "Ended"


class ServiceformChat(SyncedModel):
    """A chat (`POST /chats`): `external_id` is its `cid`.

    The chat's `uid` is the *visitor's* id (the docs' `uid` filter is "User ID
    to filter the chats"), so it is `visitor_uid`, not the key; a chat without
    a `cid` is keyed by its `session`, else its `uid` (the sync decides, and
    says so). Times in the example are Unix seconds (`livechatStarted`,
    `agentJoinedTime`, `lastMessageTime`, `changed`).

    # Unknown (vendor-apis.md §4.6): the docs do not say when a chat has ended,
    whether it was a chatbot's, or its rating: `status`, `is_chatbot`, `rating`
    and `ended_at` are read where a payload says so (or derived by the sync) and
    stay open / None otherwise.

    `changed_at` is the vendor's `changed`; `messages_changed_at` is the
    `changed` the stored messages were fetched at: a chat whose `changed_at` is
    newer (or has no messages yet) needs its messages fetched again
    (`stale_for_messages`)."""

    visitor_uid = models.CharField(max_length=128, blank=True)
    session_id = models.CharField(max_length=128, blank=True)
    site_id = models.CharField(max_length=128, blank=True)
    site_name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, blank=True)
    team = models.CharField(max_length=100, blank=True)
    page_url = models.URLField(max_length=2000, blank=True)
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.CharField(max_length=254, blank=True)
    visitor_phone = models.CharField(max_length=64, blank=True)
    agent_external_id = models.CharField(max_length=128, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_email = models.CharField(max_length=254, blank=True)
    is_chatbot = models.BooleanField(null=True)
    status = models.CharField(
        max_length=8, choices=ChatStatus.choices, default=ChatStatus.OPEN
    )
    started_at = models.DateTimeField(null=True, blank=True)
    agent_joined_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    #: Seconds, start to end (or to the last message while open).
    duration = models.IntegerField(null=True, blank=True)
    #: Seconds from the start to the first agent or bot answer.
    first_response_seconds = models.IntegerField(null=True, blank=True)
    #: `avgBetweenMsg` (seconds).
    avg_between_messages = models.IntegerField(null=True, blank=True)
    rating = models.FloatField(null=True, blank=True)
    message_count = models.IntegerField(default=0)
    last_message = models.TextField(blank=True)
    last_sender = models.CharField(max_length=40, blank=True)
    messages_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-started_at", "-id"], name="sf_chat_start_idx"
            ),
            models.Index(
                fields=["account", "is_chatbot", "-started_at", "-id"],
                name="sf_chat_bot_idx",
            ),
            models.Index(
                fields=["account", "visitor_uid", "-started_at", "-id"],
                name="sf_chat_visitor_idx",
            ),
            # Open chats: a few rows among a long history.
            models.Index(
                fields=["account", "-started_at", "-id"],
                name="sf_chat_open_idx",
                condition=models.Q(status="open", removed_at__isnull=True),
            ),
        ]

    LIST_DEFER = ("raw", "fingerprint", "last_message")

    @property
    def needs_messages(self) -> bool:
        fetched_at = self.messages_changed_at
        if fetched_at is None:
            return True
        return self.changed_at is not None and self.changed_at > fetched_at

    @classmethod
    def stale_for_messages(cls, account, changed: dict) -> list[str]:
        """Of `changed` ({cid: the listing's `changed` time or None}), the chats
        whose messages must be fetched: not stored yet, never fetched, or
        changed since their messages were. One query per 1,000 ids."""
        ids = list(dict.fromkeys(str(i) for i in changed if i))
        stored: dict[str, object] = {}
        for i in range(0, len(ids), 1000):
            stored.update(
                cls.objects.filter(account=account, external_id__in=ids[i : i + 1000])
                .order_by()
                .values_list("external_id", "messages_changed_at")
            )
        out = []
        for ext in ids:
            if ext not in stored or stored[ext] is None:
                out.append(ext)
                continue
            new = changed.get(ext)
            if new is not None and new > stored[ext]:
                out.append(ext)
        return out

    def __str__(self) -> str:
        return self.external_id


class SenderType(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    AGENT = "agent", "Agent"
    BOT = "bot", "Bot"
    SYSTEM = "system", "System"


class ServiceformMessage(SyncedModel):
    """One message of a chat's `history` (`POST /chats` with `showMessages`).

    A SyncedModel so a backfill of a million messages goes through the bulk
    upsert (one statement per batch, unchanged messages skipped by
    fingerprint). `external_id` is "<chat cid>/<message id>" (unique per
    account, as the base requires); `message_id` is Serviceform's own id, unique
    per chat. # Unknown (vendor-apis.md §4.6): message ids are not said to be
    unique beyond their chat; a message without an `id` is keyed by its
    position ("#3"). The sender: the example's `type` is the message type
    ("text"), not who sent it, so `sender` is read from a sender field where
    sent and defaults to the visitor (the sync decides)."""

    # Neither foreign key has an index of its own: each is the first column of
    # one the table has anyway (account: the (account, external_id) key; chat:
    # the (chat, message_id) key and the (chat, position) transcript order), so
    # lookups, joins and cascades use those, and a backfill of a million
    # messages maintains two B-trees fewer.
    account = models.ForeignKey(
        "core.VendorAccount",
        on_delete=models.CASCADE,
        related_name="serviceform_serviceformmessage_set",
        db_index=False,
    )
    chat = models.ForeignKey(
        ServiceformChat,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    message_id = models.CharField(max_length=128)
    position = models.IntegerField()
    sender = models.CharField(
        max_length=8, choices=SenderType.choices, default=SenderType.VISITOR
    )
    author = models.CharField(max_length=200, blank=True)
    #: The message type (`type`: "text", …).
    kind = models.CharField(max_length=40, blank=True)
    text = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["chat", "position", "id"]
        constraints = [
            *SyncedModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["chat", "message_id"], name="sf_message_chat_message_id"
            ),
        ]
        indexes = [
            # A transcript, in order (the unique constraint covers lookups by id).
            models.Index(fields=["chat", "position"], name="sf_message_chat_pos_idx"),
        ]

    @staticmethod
    def key(chat_external_id: str, message_id: str) -> str:
        return f"{chat_external_id}/{message_id}"

    def __str__(self) -> str:
        return self.external_id


# --- chat statistics ------------------------------------------------------------------
class ServiceformChatStatDay(SyncedModel):
    """The chat statistics of one day (`GET /statistics/chat` over that day's
    window); `external_id` is the day ("2026-11-30"). The headline figures are
    columns (the chart reads them); the rest of the answer (`chatsByAgent`,
    `chatsBySource`, `chatDurations`, metrics not named here) is in `metrics`.

    # Unknown (vendor-apis.md §4.6): metric names beyond the example's
    (`totalChats`, `averageResponseTime`, `satisfactionScore`); the chatbot /
    human split, message count and average length are read where sent."""

    day = models.DateField()
    chats = models.IntegerField(null=True, blank=True)
    chatbot_chats = models.IntegerField(null=True, blank=True)
    human_chats = models.IntegerField(null=True, blank=True)
    messages = models.IntegerField(null=True, blank=True)
    #: Seconds.
    avg_duration = models.FloatField(null=True, blank=True)
    avg_response_seconds = models.FloatField(null=True, blank=True)
    #: `satisfactionScore`, out of 5.
    rating = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-day"]
        constraints = [
            *SyncedModel.Meta.constraints,
            models.UniqueConstraint(fields=["account", "day"], name="sf_statday_day"),
        ]

    def __str__(self) -> str:
        return f"{self.account} on {self.day}"


#: column -> the metric names it is read from, best first (the vendor's
#: camelCase, then our own column name, so a caller may pass either).
STAT_COLUMNS = {
    "chats": ("totalChats", "chats"),
    "chatbot_chats": ("chatbotChats", "totalChatbotChats", "chatbot_chats"),
    "human_chats": ("humanChats", "liveChats", "human_chats"),
    "messages": ("totalMessages", "messages"),
    "avg_duration": ("averageDuration", "averageChatDuration", "avg_duration"),
    "avg_response_seconds": (
        "averageResponseTime",
        "avgResponseTime",
        # The metric the statistics endpoint is asked for (schemas.METRICS).
        "avg_first_response",
        "avg_response_seconds",
    ),
    "rating": ("satisfactionScore", "rating"),
}
INT_COLUMNS = {"chats", "chatbot_chats", "human_chats", "messages"}
#: column -> the UsageDay figure it is recorded as.
USAGE_FIGURES = {
    "chats": "chats",
    "chatbot_chats": "chatbot_chats",
    "human_chats": "human_chats",
    "messages": "messages",
    "avg_duration": "avg_chat_seconds",
    "avg_response_seconds": "avg_response_seconds",
    "rating": "rating",
}


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def stat_columns(metrics: dict) -> dict:
    """The columns of a day's statistics answer (None where it has no usable
    figure: a missing metric is unknown, not zero)."""
    out: dict = {}
    for column, names in STAT_COLUMNS.items():
        value = None
        for name in names:
            value = _number(metrics.get(name))
            if value is not None:
                break
        if value is not None and column in INT_COLUMNS:
            value = int(value)
        out[column] = value
    if out["human_chats"] is None and None not in (out["chats"], out["chatbot_chats"]):
        out["human_chats"] = max(out["chats"] - out["chatbot_chats"], 0)
    return out


def record_stat_day(account, day: date, metrics: dict) -> ServiceformChatStatDay:
    """Store one day's chat statistics and give its figures to the control room's
    usage rollup (`record_vendor_usage`), in one transaction: both or neither."""
    metrics = metrics if isinstance(metrics, dict) else {}
    columns = stat_columns(metrics)
    row = {
        "external_id": day.isoformat(),
        "day": day,
        **columns,
        "metrics": metrics,
        "raw": metrics,
    }
    figures = {USAGE_FIGURES[c]: v for c, v in columns.items() if v is not None}
    with transaction.atomic(using=router.db_for_write(ServiceformChatStatDay)):
        upsert(ServiceformChatStatDay, account, [row])
        if figures:
            record_vendor_usage(account, day, figures)
    return ServiceformChatStatDay.objects.get(account=account, day=day)
