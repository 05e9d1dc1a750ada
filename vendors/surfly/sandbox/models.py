"""State of the Surfly sandbox, kept in the `sandbox` database alias (see
`cobrowse_portal.vendorkit.sandbox.router`), so it survives restarts and is
shared by every process serving the sandbox.

Public identifiers (agent and webhook ids, company ids) are the primary keys;
the seeder sets them explicitly so the same seed always yields the same ids.
"""

from __future__ import annotations

import hashlib
import json

from django.db import models


class Company(models.Model):
    """A Surfly company: a reseller, a reseller's client, or a plain customer.

    `api_key` is the REST key (Surfly calls it `rest_key` in client listings).
    """

    api_key = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=64, default="pro")
    is_reseller = models.BooleanField(default=False)
    reseller = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="clients"
    )
    client_key = models.CharField(max_length=64, unique=True)
    widget_key = models.CharField(max_length=64)
    # Comma-separated, as Surfly shows it; "*" means any domain.
    domains = models.CharField(max_length=1000, default="*")
    # `agent_count` in Surfly's client payloads: "Maximum number of agents".
    agent_limit = models.PositiveIntegerField(default=15)
    # The company's default session options (the full, effective set).
    options = models.JSONField(default=dict)
    # Surfly does not document the history page size; 100 here, adjustable per
    # company so benchmarks can try other sizes.
    history_page_size = models.PositiveIntegerField(default=100)
    # Last `sequence_id` handed to a webhook event of this company.
    webhook_sequence = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """An agent (a user of a company's Surfly dashboard)."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="agents"
    )
    name = models.CharField(max_length=150)
    email = models.EmailField(max_length=254)
    password = models.CharField(max_length=128, blank=True)
    role = models.CharField(max_length=16, default="agent")
    available = models.BooleanField(default=True)
    # Logged in right now: with `available`, what `GET /agents/?free=true` means.
    online = models.BooleanField(default=False)
    last_login = models.DateTimeField()
    token = models.CharField(max_length=64, blank=True)
    token_expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "email"], name="surfly_sandbox_agent_email"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OptionSet(models.Model):
    """A distinct set of session options, stored once and shared by sessions.

    Every session carries its full options object (about 70 keys); storing it
    once per distinct set keeps 100,000 history rows small, and the history
    page splices the pre-serialised `text` into each record.
    """

    digest = models.CharField(max_length=64, unique=True)
    text = models.TextField()

    def __str__(self) -> str:
        return self.digest[:12]

    @property
    def options(self) -> dict:
        return json.loads(self.text)

    @staticmethod
    def encode(options: dict) -> tuple[str, str]:
        text = json.dumps(options, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest(), text

    @classmethod
    def for_options(cls, options: dict) -> OptionSet:
        digest, text = cls.encode(options)
        found, _ = cls.objects.get_or_create(digest=digest, defaults={"text": text})
        return found


class SandboxSession(models.Model):
    """A co-browsing session, live (`end_time` null) or ended.

    `raw_id` is Surfly's `id` and `session_id` its `session_id`: the spec's
    examples show two different strings (`id` one character longer), so both
    are kept. The columns serve filtering and the session endpoints;
    `record_json` is the history item pre-serialised (without `options`,
    which come from `option_set`), so a history page is string concatenation.
    """

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="sessions"
    )
    raw_id = models.CharField(max_length=40, unique=True)
    session_id = models.CharField(max_length=40, unique=True)
    formatted_id = models.CharField(max_length=11, db_index=True)
    # The agent's number, not a foreign key: history outlives deleted agents.
    agent_id = models.IntegerField(null=True, blank=True)
    follower_link = models.CharField(max_length=300)
    leader_link = models.CharField(max_length=300, blank=True)
    server = models.CharField(max_length=100, default="session.surfly.com")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True)
    participant_num = models.PositiveIntegerField(default=0)
    successful_start = models.BooleanField(null=True, blank=True)
    queue_id = models.PositiveIntegerField(default=0)
    queued = models.BooleanField(default=False)
    waiting_time = models.PositiveIntegerField(null=True, blank=True)
    pin = models.CharField(max_length=8, null=True, blank=True)
    start_url = models.CharField(max_length=1000)
    # Surfly sends `meta` as a JSON-encoded string; stored as that string.
    meta = models.TextField(default="{}")
    tags = models.JSONField(default=list)
    # ",tag1,tag2," so a tag filter is one indexed-table LIKE, "" when untagged.
    tags_text = models.CharField(max_length=500, default="", blank=True)
    option_set = models.ForeignKey(OptionSet, on_delete=models.PROTECT)
    screenshots_started = models.DateTimeField(null=True, blank=True)
    record_json = models.TextField()

    class Meta:
        indexes = [
            models.Index(
                fields=["company", "-start_time", "-id"], name="surfly_sbx_history"
            ),
        ]

    def __str__(self) -> str:
        return self.formatted_id

    @property
    def is_active(self) -> bool:
        return self.end_time is None


class Webhook(models.Model):
    """A webhook: one event `category` per webhook, as in Surfly's schema."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    category = models.CharField(max_length=64)
    enabled = models.BooleanField(default=True)
    ssl_verification = models.BooleanField(default=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.category} → {self.url}"
