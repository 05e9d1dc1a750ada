"""The Serviceform sandbox's state, in the sandbox database (so it survives
restarts and is shared by every process serving the sandbox)."""

from __future__ import annotations

from django.db import models


class Account(models.Model):
    """A Serviceform account and its API key (`sf-api-key`)."""

    name = models.CharField(max_length=200)
    api_key = models.CharField(max_length=100, unique=True)
    #: The account's `clientId`, stamped on its items.
    client_id = models.CharField(max_length=40)
    #: The user who "edits" through the API (an item's `last_updater`).
    api_user = models.CharField(max_length=40)

    def __str__(self) -> str:
        return self.name


class Space(models.Model):
    """A flex space. `fields` is the answered list of field definitions
    ({machine, name, id, type, options[], required}); `required` is the
    sandbox's addition (the docs show none, README "Serviceform")."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    space_id = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    fields = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "space_id"], name="serviceform_sb_space_id"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """An item of a space: the documented keys, plus `values` (field machine
    name -> value), answered at the top level of the item."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    item_id = models.CharField(max_length=40)
    uid = models.CharField(max_length=40)
    uuid = models.CharField(max_length=40)
    primary_field = models.CharField(max_length=500)
    values = models.JSONField(default=dict)
    created = models.DateTimeField()
    updated = models.DateTimeField()
    last_updater = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["space", "item_id"], name="serviceform_sb_item_id"
            )
        ]

    def __str__(self) -> str:
        return self.item_id


class Lead(models.Model):
    """A lead: `data` is the answered object (the docs' example keys)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    lead_id = models.CharField(max_length=40)
    created = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created"], name="serviceform_sb_lead_new")
        ]

    def __str__(self) -> str:
        return self.lead_id


class Chat(models.Model):
    """A chat with its transcript. Windows filter on `started` (whole seconds,
    so chats share instants, as Serviceform's Unix-second times do); the
    answer orders by (`started`, `cid`). `messages` is the answered `history`
    ([{id, message, type, sender, author, timestamp}]); the figures the
    statistics use are columns, computed from it when the chat is written."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    cid = models.CharField(max_length=40)
    uid = models.CharField(max_length=40)
    started = models.DateTimeField()
    ended = models.DateTimeField()
    chatbot = models.BooleanField(default=False)
    agent_id = models.CharField(max_length=40, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    agent_email = models.CharField(max_length=200, blank=True)
    agent_joined = models.DateTimeField(null=True, blank=True)
    #: Seconds from the first visitor message to the first agent/bot answer.
    first_response = models.PositiveIntegerField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    url = models.CharField(max_length=500, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    messages = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "cid"], name="serviceform_sb_chat_cid"
            )
        ]
        indexes = [
            models.Index(
                fields=["account", "started", "cid"], name="serviceform_sb_chat_start"
            )
        ]

    def __str__(self) -> str:
        return self.cid
