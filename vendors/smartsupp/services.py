"""Smartsupp writes: push a change to Smartsupp first, then store its answer.

Contract: shared/vendor-docs/smartsupp-rest-api.txt, vendor-apis.md §5.2. Every
function here makes the vendor call(s) and touches the database only once
Smartsupp has accepted the change, so a refused or failed write leaves local
rows as they were. Errors are the vendorkit taxonomy (`VendorError`): views show
`user_message()` and `field_errors` for refusals and keep the user's input (or
the write, for `@retryable` ones) when Smartsupp is away.

Retryable: Smartsupp updates are POSTs and deletes GETs, but both are idempotent
(an update carries absolute values, a delete of a deleted object is a 404 that
`delete_remote` reads as done), so a replay after a lost answer does no harm.
Creates never are: a replay would make a second account, user or trigger.

Secrets: a user's password is passed to Smartsupp once and never kept (not in
a row, not in `raw`, not in a kept write: user creates are not retryable), and
registered with the redaction filter so no log line can show it. The partner
apiKey never leaves the VendorAccount's encrypted credentials; a client
workspace made for an account gets no copy of it.

Interface for the pages (views/): accounts `create_account`, `load_account`,
`update_account`, `delete_account`; users `create_user`, `load_user`,
`update_user`, `delete_user`; triggers `create_trigger`, `load_trigger`,
`update_trigger`, `set_trigger_active`, `delete_trigger`; office hours
`update_office_hours`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.timezone import now as _now

from cobrowse_portal.core.choices import WorkspaceKind
from cobrowse_portal.core.models import VendorAccount, Workspace, unique_workspace_slug
from cobrowse_portal.core.writes import retryable
from cobrowse_portal.vendorkit.activity import update_rows
from cobrowse_portal.vendorkit.bulk import delete_remote, upsert
from cobrowse_portal.vendorkit.redaction import register_secret
from cobrowse_portal.vendorkit.runs import RejectedKeyGuard

from . import sync
from .models import (
    SmartsuppAccount,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
)
from .schemas import Account, OfficeHours, Trigger, User

log = logging.getLogger("cobrowse.vendors.smartsupp.services")

#: Keys never kept from a payload (a user answer might echo what it was sent).
SECRET_KEYS = sync.SECRET_KEYS


def client_for(account: VendorAccount):
    return account.client()


# A rejected key marks the account (vendorkit), around every call below.
_Guard = RejectedKeyGuard


def _clean(raw: dict) -> dict:
    """A payload as stored: never a password or a key, whatever was echoed."""
    return {k: v for k, v in (raw or {}).items() if k not in SECRET_KEYS}


# --- payloads as stored rows --------------------------------------------------------
# The streams' mappers (sync.py), so a row written from a page and the same row
# pulled later have one shape and one fingerprint; what a partial answer of a
# write leaves out keeps its stored value.
def account_row(answer: Account, existing: SmartsuppAccount | None = None) -> dict:
    row = sync.account_row(answer)
    if existing is not None:
        for name in ("title", "lang", "account_key"):
            row[name] = row[name] or getattr(existing, name)
        row["raw"] = {**_clean(existing.raw or {}), **row["raw"]}
    return row


def user_row(sa: SmartsuppAccount, answer: User, existing=None) -> dict:
    row = sync.user_row(answer, sa.pk, sa.external_id)
    if existing is not None:
        for name in ("role", "email", "fullname", "nickname", "lang"):
            row[name] = row[name] or getattr(existing, name)
        if row["active"] is None:
            row["active"] = existing.active
        row["raw"] = {**_clean(existing.raw or {}), **row["raw"]}
    return row


def trigger_row(sa: SmartsuppAccount, answer: Trigger) -> dict:
    row = sync.trigger_row(answer, sa.pk, sa.external_id)
    # An answer filled from what was sent (`_fill`) holds its rows parsed.
    row["conditions"] = [c.as_json() for c in answer.conditions]
    row["actions"] = [a.as_json() for a in answer.actions]
    return row


def office_hours_row(sa: SmartsuppAccount, answer: OfficeHours) -> dict:
    return sync.office_hours_row(answer, sa.pk, sa.external_id)


def store(model, account, row):
    upsert(model, account, [row])
    return model.objects.get(account=account, external_id=row["external_id"])


# --- accounts (reseller) ------------------------------------------------------------
@dataclass
class CreatedAccount:
    smartsupp_account: SmartsuppAccount
    workspace: Workspace | None = None


def create_account(
    account: VendorAccount,
    *,
    title: str,
    lang: str,
    create_workspace: bool = False,
    parent: Workspace | None = None,
) -> CreatedAccount:
    """POST accounts/create; with `create_workspace`, a client workspace owned
    by `parent` is made and linked to the new account (`client_workspace`).

    Smartsupp issues no per-account API key (the `accountKey` is the chat
    code's public key), so unlike Surfly's clients the workspace gets no
    vendor account: copying the reseller's partner key into it would open
    every account of the reseller to the client."""
    with _Guard(account):
        answer = client_for(account).create_account(title, lang)
    if not answer.title:
        answer.title = title  # the create answer may carry only the id
    if not answer.lang:
        answer.lang = lang
    with transaction.atomic():
        sa = store(SmartsuppAccount, account, account_row(answer))
        result = CreatedAccount(sa)
        if create_workspace and parent is not None:
            name = (answer.title or title)[:120]
            workspace = Workspace.objects.create(
                name=name,
                slug=unique_workspace_slug(name),
                kind=WorkspaceKind.CLIENT,
                parent=parent,
            )
            SmartsuppAccount.objects.filter(pk=sa.pk).update(client_workspace=workspace)
            sa.client_workspace = workspace
            result.workspace = workspace
    return result


def load_account(account: VendorAccount, sa: SmartsuppAccount) -> SmartsuppAccount:
    """GET accounts/{aid}/get: Smartsupp's current account, stored (the edit
    form starts from it, not from a copy an hour old)."""
    with _Guard(account):
        answer = client_for(account).get_account(sa.external_id)
    answer.id = sa.external_id  # the account acted on, whatever the answer says
    return store(SmartsuppAccount, account, account_row(answer, sa))


@retryable(shows={"title": "title", "lang": "lang"})
def update_account(
    account: VendorAccount, sa: SmartsuppAccount, *, title: str, lang: str
) -> SmartsuppAccount:
    """POST accounts/{aid}/update {title, lang}."""
    with _Guard(account):
        answer = client_for(account).update_account(
            sa.external_id, title=title, lang=lang
        )
    answer = answer or Account(id=sa.external_id)
    answer.id = sa.external_id
    # What was sent is what Smartsupp now has (its answer may be empty).
    answer.title, answer.lang = title, lang
    return store(SmartsuppAccount, account, account_row(answer, sa))


@retryable(removes=True)
def delete_account(account: VendorAccount, sa: SmartsuppAccount) -> str:
    """GET accounts/{aid}/delete: the account, its users, triggers and office
    hours go at Smartsupp; here they are marked removed (users leave the agent
    directory with them)."""
    with _Guard(account):
        answer = delete_remote(
            sa,
            lambda: client_for(account).delete_account(sa.external_id),
            gone="already gone at Smartsupp",
        )
    update_rows(
        SmartsuppUser.objects.filter(
            account=account, smartsupp_account=sa, removed_at__isnull=True
        ),
        account,
        removed_at=_now(),
    )
    SmartsuppTrigger.objects.filter(
        account=account, smartsupp_account=sa, removed_at__isnull=True
    ).update(removed_at=_now())
    SmartsuppOfficeHours.objects.filter(account=account, smartsupp_account=sa).update(
        removed_at=_now()
    )
    return answer if isinstance(answer, str) else "deleted"


# --- users ---------------------------------------------------------------------------
def create_user(
    account: VendorAccount,
    sa: SmartsuppAccount,
    *,
    role: str,
    email: str,
    fullname: str,
    password: str,
    nickname: str = "",
    lang: str = "",
) -> SmartsuppUser:
    """POST accounts/{aid}/users/create. The password goes to Smartsupp only:
    registered as a secret first (masked in any log line), never stored."""
    register_secret(password)
    with _Guard(account):
        answer = client_for(account).create_user(
            sa.external_id,
            role,
            email,
            fullname,
            password,
            nickname=nickname or None,
            lang=lang or None,
        )
    # A create answer may carry only the id: what we sent is what it holds.
    answer.role = answer.role or role
    answer.email = answer.email or email
    answer.fullname = answer.fullname or fullname
    answer.nickname = answer.nickname or nickname
    answer.lang = answer.lang or lang
    return store(SmartsuppUser, account, user_row(sa, answer))


def load_user(account: VendorAccount, user: SmartsuppUser) -> SmartsuppUser:
    """GET accounts/{aid}/users/{uid}/get, stored (the edit form's start)."""
    sa = user.smartsupp_account
    with _Guard(account):
        answer = client_for(account).get_user(sa.external_id, user.external_id)
    answer.id = user.external_id
    return store(SmartsuppUser, account, user_row(sa, answer, user))


@retryable(shows={"role": "role", "fullname": "fullname", "nickname": "nickname"})
def update_user(
    account: VendorAccount,
    user: SmartsuppUser,
    *,
    role: str,
    fullname: str,
    nickname: str = "",
) -> SmartsuppUser:
    """POST accounts/{aid}/users/{uid}/update {role, fullname, nickname?}."""
    sa = user.smartsupp_account
    with _Guard(account):
        answer = client_for(account).update_user(
            sa.external_id,
            user.external_id,
            role=role,
            fullname=fullname,
            nickname=nickname or None,
        )
    answer = answer or User(id=user.external_id)
    answer.id = user.external_id
    answer.role, answer.fullname = role, fullname
    answer.nickname = nickname or answer.nickname
    return store(SmartsuppUser, account, user_row(sa, answer, user))


@retryable(removes=True)
def delete_user(account: VendorAccount, user: SmartsuppUser) -> str:
    """GET accounts/{aid}/users/{uid}/delete; the row is marked removed (and
    leaves the agent directory)."""
    sa = user.smartsupp_account
    with _Guard(account):
        answer = delete_remote(
            user,
            lambda: client_for(account).delete_user(sa.external_id, user.external_id),
            gone="already gone at Smartsupp",
        )
    return answer if isinstance(answer, str) else "deleted"


# --- triggers ------------------------------------------------------------------------
def create_trigger(
    account: VendorAccount,
    sa: SmartsuppAccount,
    *,
    name: str,
    event: str,
    conditions: list[dict],
    actions: list[dict],
    active: bool = True,
    description: str = "",
    only_once: bool | None = None,
    constraints: str = "",
) -> SmartsuppTrigger:
    """POST accounts/{aid}/triggers/create."""
    with _Guard(account):
        answer = client_for(account).create_trigger(
            sa.external_id,
            name=name,
            event=event,
            conditions=conditions,
            actions=actions,
            active=active,
            description=description,
            only_once=only_once,
            constraints=constraints or None,
        )
    sent = Trigger.parse(
        {
            "id": answer.id,
            "name": name,
            "event": event,
            "description": description,
            "active": active,
            "only_once": only_once,
            "constraints": constraints,
            "conditions": conditions,
            "actions": actions,
        }
    )
    return store(SmartsuppTrigger, account, trigger_row(sa, _fill(answer, sent)))


def _fill(answer: Trigger, sent: Trigger) -> Trigger:
    """Smartsupp's answer, with what it left out taken from what was sent."""
    for name in ("name", "event", "description", "constraints"):
        if not getattr(answer, name):
            setattr(answer, name, getattr(sent, name))
    for name in ("active", "only_once"):
        if getattr(answer, name) is None:
            setattr(answer, name, getattr(sent, name))
    if "conditions" not in answer.raw:
        answer.conditions = sent.conditions
    if "actions" not in answer.raw:
        answer.actions = sent.actions
    answer.raw = {**sent.raw, **answer.raw}
    return answer


def _as_trigger(row: SmartsuppTrigger) -> Trigger:
    return Trigger.parse(
        {
            "id": row.external_id,
            "name": row.name,
            "event": row.event,
            "description": row.description,
            "active": row.active,
            "only_once": row.only_once,
            "constraints": row.constraints,
            "conditions": row.conditions,
            "actions": row.actions,
            **_clean(row.raw or {}),
        }
    )


def load_trigger(account: VendorAccount, trigger: SmartsuppTrigger) -> SmartsuppTrigger:
    """GET accounts/{aid}/triggers/{tid}/get, stored (the editor's start)."""
    sa = trigger.smartsupp_account
    with _Guard(account):
        answer = client_for(account).get_trigger(sa.external_id, trigger.external_id)
    answer.id = trigger.external_id
    answer = _fill(answer, _as_trigger(trigger))
    return store(SmartsuppTrigger, account, trigger_row(sa, answer))


@retryable(shows={"name": "name", "event": "event", "active": "active"})
def update_trigger(
    account: VendorAccount, trigger: SmartsuppTrigger, **fields: Any
) -> SmartsuppTrigger:
    """POST accounts/{aid}/triggers/{tid}/update with the editor's fields
    (absolute values: name, description, event, constraints, only_once,
    active, conditions, actions)."""
    sa = trigger.smartsupp_account
    with _Guard(account):
        answer = client_for(account).update_trigger(
            sa.external_id, trigger.external_id, **fields
        )
    current = _as_trigger(trigger)
    sent = Trigger.parse(
        {**current.raw, **{k: v for k, v in fields.items() if v is not None}}
    )
    sent.id = trigger.external_id
    if answer is None:
        answer = sent
    else:
        answer.id = trigger.external_id
        # What was sent is what Smartsupp now holds.
        answer = _fill(Trigger.parse({**answer.raw, **sent.raw}), sent)
    return store(SmartsuppTrigger, account, trigger_row(sa, answer))


@retryable(shows={"active": "active"})
def set_trigger_active(
    account: VendorAccount, trigger: SmartsuppTrigger, *, active: bool
) -> SmartsuppTrigger:
    """POST accounts/{aid}/triggers/{tid}/update {active}: on or off (an
    absolute value, never a flip, so a replay is harmless)."""
    return update_trigger(account, trigger, active=bool(active))


@retryable(removes=True)
def delete_trigger(account: VendorAccount, trigger: SmartsuppTrigger) -> str:
    """GET accounts/{aid}/triggers/{tid}/delete."""
    sa = trigger.smartsupp_account
    with _Guard(account):
        answer = delete_remote(
            trigger,
            lambda: client_for(account).delete_trigger(
                sa.external_id, trigger.external_id
            ),
            gone="already gone at Smartsupp",
        )
    return answer if isinstance(answer, str) else "deleted"


# --- office hours --------------------------------------------------------------------
@retryable
def update_office_hours(
    account: VendorAccount,
    sa: SmartsuppAccount,
    *,
    active: bool,
    days: list[int],
    timezone: int,
    config: list[dict],
) -> SmartsuppOfficeHours:
    """POST accounts/{aid}/officehours/update {active, days, timezone, config}
    (the documented minutes format); Smartsupp's answer is stored (one row per
    account)."""
    with _Guard(account):
        answer = client_for(account).update_office_hours(
            sa.external_id, active, days, timezone, config
        )
    return store(SmartsuppOfficeHours, account, office_hours_row(sa, answer))
