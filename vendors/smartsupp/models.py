"""Local copies of Smartsupp objects, all on the shared SyncedModel base.

Contract: shared/vendor-docs/smartsupp-rest-api.txt and vendor-apis.md §5.2
(the legacy REST API) and §5.5 (the legacy finished-chat POST hook).

The portal's VendorAccount for Smartsupp holds a partner `apiKey`: it is a
reseller, and the Smartsupp *accounts* below are what it provisions. Every other
model hangs off one of them (`smartsupp_account`; `account` is SyncedModel's
link to the portal's VendorAccount). No secret is ever kept here or in `raw`:
the apiKey lives only, encrypted, in the VendorAccount, and a user's password
is sent once at creation and never stored (`accountKey` is the public key of
the chat code, not a secret).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from django.db import models

from cobrowse_portal.vendorkit.models import SyncedModel


class SmartsuppAccount(SyncedModel):
    """A Smartsupp account (`GET /accounts/`, `/accounts/{aid}/get`): one company,
    any number of domains. `external_id` is Smartsupp's account `id` (a number
    sent as a string, "1234"), the `aid` of every path below it."""

    #: Internal name, not shown to the account's visitors.
    title = models.CharField(max_length=200, blank=True)
    #: Language of the chat box and transactional e-mails ("en").
    lang = models.CharField(max_length=8, blank=True)
    #: `accountKey`: the key in the chat code (public, not a secret).
    account_key = models.CharField(max_length=100, blank=True)
    #: The portal client workspace this account was provisioned for (if any),
    #: so deleting the account can ask what becomes of it.
    client_workspace = models.ForeignKey(
        "core.Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Unknown (vendor-apis.md §5.2): the documented account carries only id,
    # title, lang and accountKey; its times are kept when a payload sends them.
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["title", "id"]
        indexes = [
            # The Accounts page lists a reseller's accounts by title.
            models.Index(
                fields=["account", "title", "id"], name="smartsupp_acct_title_idx"
            ),
            models.Index(
                fields=["account", "client_workspace"], name="smartsupp_acct_ws_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.external_id

    @property
    def chat_code(self) -> str:
        """The documented chat code to paste between <head> and </head>, with
        this account's key ("" without a key). The key is vendor data: it is
        written as a JSON string with `<` escaped, so it cannot end the script."""
        if not self.account_key:
            return ""
        key = json.dumps(self.account_key).replace("<", "\\u003c")
        return (
            '<script type="text/javascript">\n'
            "var _smartsupp = _smartsupp || {};\n"
            f"_smartsupp.key = {key};\n"
            "window.smartsupp||(function(d) {\n"
            "  var s,c,o=smartsupp=function(){ o._.push(arguments)};o._=[];\n"
            "  s=d.getElementsByTagName('script')[0];c=d.createElement('script');\n"
            "  c.type='text/javascript';c.charset='utf-8';c.async=true;\n"
            "  c.src='//www.smartsuppchat.com/loader.js';"
            "s.parentNode.insertBefore(c,s);\n"
            "})(document);\n"
            "</script>"
        )


class SmartsuppRole(models.TextChoices):
    AGENT = "agent", "Agent (chats only)"
    ADMIN = "admin", "Admin (all features)"


class SmartsuppUser(SyncedModel):
    """A user of a Smartsupp account (`/accounts/{aid}/users/`): a person who
    chats with visitors, as an agent or an admin. Never a password.

    `external_id` is Smartsupp's user `id`, unique per portal account (not per
    Smartsupp account): user ids look global at Smartsupp (the XMPP login is
    `uid<id>@smartsupp.com`, with no account in it), so one reseller never sees
    the same id under two of its accounts. Feeds the agent directory.
    """

    smartsupp_account = models.ForeignKey(
        SmartsuppAccount, on_delete=models.CASCADE, related_name="users"
    )
    #: "" only when a payload left it out (the docs know exactly two roles).
    role = models.CharField(max_length=8, choices=SmartsuppRole.choices, blank=True)
    email = models.CharField(max_length=254, blank=True)
    fullname = models.CharField(max_length=200, blank=True)
    #: The name shown in the chat box (defaults to the full name at Smartsupp).
    nickname = models.CharField(max_length=200, blank=True)
    lang = models.CharField(max_length=8, blank=True)
    # Unknown (vendor-apis.md §5.2): the documented user has no `active`;
    # None until a payload says.
    active = models.BooleanField(null=True)

    class Meta(SyncedModel.Meta):
        ordering = ["fullname", "id"]
        constraints = [
            *SyncedModel.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(role__in=["agent", "admin", ""]),
                name="smartsupp_user_role_known",
            ),
        ]
        indexes = [
            # Users page: one Smartsupp account's users by name.
            models.Index(
                fields=["account", "smartsupp_account", "fullname", "id"],
                name="smartsupp_user_acct_idx",
            ),
            models.Index(fields=["account", "email"], name="smartsupp_user_email_idx"),
        ]

    @property
    def display_name(self) -> str:
        return self.fullname or self.nickname or self.email or self.external_id

    def __str__(self) -> str:
        return self.display_name


class SmartsuppTrigger(SyncedModel):
    """A trigger (auto-message) of a Smartsupp account (`/accounts/{aid}/triggers/`).

    `external_id` is Smartsupp's trigger `id` ("758"). Unknown (vendor-apis.md
    §5.2): whether trigger ids are global like user ids; they are assumed to be
    (unique per portal account). Condition and action names are undocumented
    beyond the guide's example (conditions `delay_site`, `number_of_visits`, …;
    the action `message` with `agent_nick` and `message`): both are kept as sent.
    """

    smartsupp_account = models.ForeignKey(
        SmartsuppAccount, on_delete=models.CASCADE, related_name="triggers"
    )
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    #: When it is evaluated ("onload" in the docs' example).
    event = models.CharField(max_length=40, blank=True)
    only_once = models.BooleanField(null=True)
    #: How the conditions combine ("all" in the docs' example).
    constraints = models.CharField(max_length=16, blank=True)
    #: [{"name": str, "value": any}], as sent.
    conditions = models.JSONField(default=list, blank=True)
    #: [{"name": "message", "agent_nick": str, "message": str}], as sent.
    actions = models.JSONField(default=list, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name", "id"]
        indexes = [
            models.Index(
                fields=["account", "smartsupp_account", "name", "id"],
                name="smartsupp_trig_acct_idx",
            ),
        ]

    LIST_DEFER = ("raw", "fingerprint", "conditions", "actions")

    @property
    def message(self) -> str:
        """The text of its first `message` action ("" without one)."""
        for action in self.actions or []:
            if isinstance(action, dict) and action.get("name") == "message":
                text = action.get("message")
                return text if isinstance(text, str) else ""
        return ""

    def __str__(self) -> str:
        return self.name or self.external_id


# --- office hours ---
#: Days as Smartsupp numbers them (`dow`), Monday first: 0 is Sunday (the docs'
#: `days: [1, 2, 6, 0]`, JavaScript's numbering).
DAYS = (
    (1, "Monday"),
    (2, "Tuesday"),
    (3, "Wednesday"),
    (4, "Thursday"),
    (5, "Friday"),
    (6, "Saturday"),
    (0, "Sunday"),
)
DAY_NAMES = dict(DAYS)
MINUTES_PER_DAY = 24 * 60
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class OfficeHoursError(ValueError):
    """A weekly table that is not valid office hours (the message says why)."""


def minutes_to_hhmm(minutes: int) -> str:
    """480 -> "08:00"; 1440 (the end of the day) -> "24:00"."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise OfficeHoursError(f"{minutes!r} is not a number of minutes.")
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise OfficeHoursError(f"{minutes} is not a time of day (0 to 1440 minutes).")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hhmm_to_minutes(value: str) -> int:
    """ "08:00" -> 480; "24:00" (only as an end) -> 1440; anything else refused."""
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise OfficeHoursError(f"{value!r} is not a time (HH:MM).")
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise OfficeHoursError(f"{value!r} is not a time of day.")
    return hours * 60 + minutes


def config_to_table(config) -> dict[int, list[tuple[str, str]]]:
    """The documented minutes format ([{dow, times: [{from, to}]}]) as a weekly
    table: {dow: [("08:00", "11:45"), …]} for every day 0-6, ranges in order.
    Read leniently (it is what Smartsupp or an old row holds): entries that are
    not a day and a range within it are skipped."""
    table: dict[int, list[tuple[str, str]]] = {dow: [] for dow, _ in DAYS}
    for entry in config if isinstance(config, list) else []:
        if not isinstance(entry, dict):
            continue
        dow = entry.get("dow")
        if isinstance(dow, bool) or dow not in table:
            continue
        for span in entry.get("times") or []:
            if not isinstance(span, dict):
                continue
            start, end = span.get("from"), span.get("to")
            try:
                if start >= end:
                    continue
                table[dow].append((minutes_to_hhmm(start), minutes_to_hhmm(end)))
            except (OfficeHoursError, TypeError):
                continue
    for spans in table.values():
        spans.sort(key=lambda s: hhmm_to_minutes(s[0]))
    return table


def table_to_config(table) -> list[dict]:
    """A weekly table ({dow: [("HH:MM", "HH:MM"), …]}) in the documented
    minutes format, days in Smartsupp's order (Monday first), ranges in order,
    days without a range left out. Refused (OfficeHoursError): an unknown day,
    a time that is not HH:MM, a range that does not end after it starts (one
    over midnight is two ranges, on two days; "24:00" ends a day) and ranges
    that overlap on a day (touching ones are allowed)."""
    if not isinstance(table, dict):
        raise OfficeHoursError("Office hours are a table of days.")
    config = []
    # A form may key the days by their numbers as text ("1").
    days: dict[int, list] = {}
    for dow, spans in table.items():
        key = int(dow) if isinstance(dow, str) and dow.strip().isdigit() else dow
        if isinstance(key, bool) or key not in DAY_NAMES:
            raise OfficeHoursError(f"{dow!r} is not a day (0 is Sunday, 6 Saturday).")
        if key in days:
            raise OfficeHoursError(f"{DAY_NAMES[key]} is given twice.")
        days[key] = spans
    table = days
    for dow, day in DAYS:
        spans = []
        for span in table.get(dow) or []:
            try:
                start_text, end_text = span
            except (TypeError, ValueError):
                raise OfficeHoursError(
                    f"{day}: a range is a start and an end."
                ) from None
            start, end = hhmm_to_minutes(start_text), hhmm_to_minutes(end_text)
            if start == MINUTES_PER_DAY:
                raise OfficeHoursError(f"{day}: 24:00 can only end a range.")
            if end <= start:
                raise OfficeHoursError(
                    f"{day}: {start_text}–{end_text} does not end after it starts "
                    "(split a range over midnight into two days)."
                )
            spans.append((start, end))
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            if start < end:
                raise OfficeHoursError(f"{day}: time ranges overlap.")
        if spans:
            config.append(
                {"dow": dow, "times": [{"from": s, "to": e} for s, e in spans]}
            )
    return config


class SmartsuppOfficeHours(SyncedModel):
    """A Smartsupp account's office hours (`POST /accounts/{aid}/officehours/update`,
    which answers them back): one row per SmartsuppAccount, `external_id` its
    account id. Times are minutes from the start of the day in the account's
    time zone: the editor shows them as a weekly table of local "HH:MM"
    ranges (`week()` / `set_week()`)."""

    smartsupp_account = models.OneToOneField(
        SmartsuppAccount, on_delete=models.CASCADE, related_name="office_hours"
    )
    active = models.BooleanField(default=False)
    #: The days the hours apply on ([1, 2, 6, 0]; 0 is Sunday).
    days = models.JSONField(default=list, blank=True)
    # Unknown (vendor-apis.md §5.2): the docs' example sends `timezone: 1`,
    # presumably hours from UTC; kept as text, so an IANA name fits too
    # (`timezone_value()` gives back the number when it is one).
    timezone = models.CharField(max_length=64, blank=True)
    #: [{"dow": 1, "times": [{"from": 480, "to": 705}, …]}, …] (minutes).
    config = models.JSONField(default=list, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["id"]
        verbose_name_plural = "Smartsupp office hours"

    def week(self) -> dict[int, list[tuple[str, str]]]:
        """The stored hours as a weekly table of local "HH:MM" ranges."""
        return config_to_table(self.config)

    def set_week(self, table, days=None) -> None:
        """Set `config` from a weekly table (OfficeHoursError when it is not
        valid) and `days` to `days`, or by default to the days with a range."""
        self.config = table_to_config(table)
        if days is None:
            self.days = [entry["dow"] for entry in self.config]
        else:
            bad = [d for d in days if isinstance(d, bool) or d not in DAY_NAMES]
            if bad:
                raise OfficeHoursError(f"{bad[0]!r} is not a day.")
            order = [dow for dow, _ in DAYS]
            self.days = sorted(set(days), key=order.index)

    def timezone_value(self) -> int | str:
        """The time zone as Smartsupp was sent it: a number when it is one."""
        text = (self.timezone or "").strip()
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else text

    def __str__(self) -> str:
        return f"Office hours of {self.smartsupp_account}"


# --- finished chats (the legacy POST hook) ---
def from_ms(value) -> datetime | None:
    """A ms epoch (`beginAt`, `endAt`, `sentAt`) as an aware UTC datetime; None
    when it is missing or not a number (a naive time would shift it: §5.7.6)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        ms = float(value)
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


class MessageType(models.TextChoices):
    VISITOR = "visitor", "Visitor"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class SmartsuppChat(SyncedModel):
    """A finished, missed or offline chat, as Smartsupp's legacy POST hook sends
    it when it ends (vendor-apis.md §5.5). `external_id` is `channel.id`.

    `smartsupp_account_id` is the hook's `accountId` (text, not a link: the chat
    may arrive before the account is synced). Times in seconds. The visitor's
    `variables`, `note`, user agent and the like stay in `raw` (no secret comes
    in the hook). The agent columns are those of its first agent message
    (`agent_of()`): the hook's channel does not name its agent.
    """

    smartsupp_account_id = models.CharField(max_length=64, blank=True)
    begin_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    #: Seconds (`channel.duration`).
    duration = models.IntegerField(null=True, blank=True)
    is_missed = models.BooleanField(default=False)
    is_offline = models.BooleanField(default=False)
    is_triggered = models.BooleanField(default=False)
    is_completed = models.BooleanField(default=False)
    is_dropped = models.BooleanField(default=False)
    rating = models.IntegerField(null=True, blank=True)
    rating_desc = models.TextField(blank=True)
    messages_count = models.IntegerField(null=True, blank=True)
    #: Seconds (`channel.avgResponse`, `channel.firstResponse`).
    avg_response = models.IntegerField(null=True, blank=True)
    first_response = models.IntegerField(null=True, blank=True)
    visitor_id = models.CharField(max_length=64, blank=True)
    visitor_name = models.CharField(max_length=200, blank=True)
    visitor_email = models.CharField(max_length=254, blank=True)
    # The docs' example swaps city and country (§5.5): mapped by name anyway.
    visitor_city = models.CharField(max_length=100, blank=True)
    visitor_country = models.CharField(max_length=100, blank=True)
    visitor_country_code = models.CharField(max_length=8, blank=True)
    referer = models.CharField(max_length=2000, blank=True)
    #: The first of `paths` (the page the chat began on).
    first_url = models.CharField(max_length=2000, blank=True)
    first_title = models.CharField(max_length=500, blank=True)
    #: From its first agent message: `from` (assumed the user id), name, email.
    agent_id = models.CharField(max_length=64, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_email = models.CharField(max_length=254, blank=True)
    #: [{"url", "title"}], the pages the visitor went through.
    paths = models.JSONField(default=list, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["-begin_at", "-id"]
        indexes = [
            models.Index(
                fields=["account", "-begin_at", "-id"], name="smartsupp_chat_begin_idx"
            ),
            # One Smartsupp account's chats (the Chats page's filter).
            models.Index(
                fields=["account", "smartsupp_account_id", "-begin_at", "-id"],
                name="smartsupp_chat_acct_idx",
            ),
            models.Index(
                fields=["account", "agent_id", "-begin_at", "-id"],
                name="smartsupp_chat_agent_idx",
            ),
        ]

    LIST_DEFER = ("raw", "fingerprint", "paths", "rating_desc")

    @staticmethod
    def agent_of(messages) -> tuple[str, str, str]:
        """(id, name, email) of the first agent message of a hook's `messages`
        ("" where unknown). Unknown (vendor-apis.md §5.5): `from` is taken to
        be the agent's Smartsupp user id (it matches the directory then)."""
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict) or message.get("type") != "agent":
                continue
            sender = message.get("from")
            sender = "" if isinstance(sender, bool) or sender is None else str(sender)
            name, email = message.get("name"), message.get("email")
            return (
                sender.strip(),
                name.strip() if isinstance(name, str) else "",
                email.strip() if isinstance(email, str) else "",
            )
        return ("", "", "")

    def __str__(self) -> str:
        return self.external_id


class SmartsuppChatMessage(models.Model):
    """One message of a finished chat, in the hook's order (`position`). The
    chat's messages are written whole with the chat (a hook sends them all), so
    this is no SyncedModel: it has no vendor id of its own."""

    chat = models.ForeignKey(
        SmartsuppChat, on_delete=models.CASCADE, related_name="messages"
    )
    position = models.PositiveIntegerField()
    type = models.CharField(max_length=8, choices=MessageType.choices)
    name = models.CharField(max_length=200, blank=True)
    #: The hook's `from` (who sent it: a user id for agents, assumed).
    sender = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=254, blank=True)
    #: Text, or a system code such as `agent.join` / `close.visitorClose`.
    content = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    #: The trigger that sent it (`triggeredBy`), for automatic messages.
    triggered_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["chat_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["chat", "position"], name="smartsupp_chatmsg_position"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=["visitor", "agent", "system"]),
                name="smartsupp_chatmsg_type_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chat_id}#{self.position} {self.type}"

    @staticmethod
    def type_of(value) -> str:
        """The hook's `type` as stored: one of the three documented, and
        "system" for anything else (Unknown (vendor-apis.md §5.5): no other
        type is known)."""
        return value if value in MessageType.values else MessageType.SYSTEM
