"""The Smartsupp sandbox's state, in the sandbox database (so it survives
restarts and is shared by every process serving the sandbox).

Public ids are numbers answered as text ("1234", as in the guide). They come
from `Sequence` rows, not from primary keys, so a reseeded sandbox answers the
same ids on every database (PostgreSQL never rewinds its sequences).
"""

from __future__ import annotations

from django.db import models


class Sequence(models.Model):
    """The next public id of one kind ("account", "user", "trigger")."""

    name = models.CharField(max_length=20, unique=True)
    next = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.name}: {self.next}"


class ApiKey(models.Model):
    """A partner `apiKey`: it sees and manages the accounts it owns (a
    reseller's many, a client's one)."""

    key = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """An account: `number` is its API id, `account_key` its chat-code key.
    `hook_url` is where its finished chats are POSTed (Smartsupp sets it when
    asked by e-mail; the sandbox's control endpoint sets it here)."""

    owner = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveBigIntegerField(unique=True)
    title = models.CharField(max_length=255)
    lang = models.CharField(max_length=2)
    account_key = models.CharField(max_length=40, unique=True)
    hook_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.title


class User(models.Model):
    """A user. `email_key` (lower case) is unique across the whole sandbox:
    an e-mail is a Smartsupp login, so two accounts cannot share one. Only the
    password's length is kept (the sandbox never needs it back)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveBigIntegerField(unique=True)
    role = models.CharField(max_length=10)
    email = models.CharField(max_length=254)
    email_key = models.CharField(max_length=254, unique=True)
    fullname = models.CharField(max_length=255)
    nickname = models.CharField(max_length=255, blank=True)
    lang = models.CharField(max_length=2, blank=True)
    active = models.BooleanField(default=True)
    password_length = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["account", "number"], name="ss_sb_user_acct")]

    def __str__(self) -> str:
        return self.email


class Trigger(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveBigIntegerField(unique=True)
    active = models.BooleanField(default=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    event = models.CharField(max_length=40)
    only_once = models.BooleanField(default=True)
    constraints = models.CharField(max_length=10, default="all")
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "number"], name="ss_sb_trigger_acct")
        ]

    def __str__(self) -> str:
        return self.name


class OfficeHours(models.Model):
    """The account's office hours, as last written (`config` in minutes)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    active = models.BooleanField(default=False)
    days = models.JSONField(default=list, blank=True)
    timezone = models.SmallIntegerField(default=0)
    config = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"office hours of {self.account_id}"
