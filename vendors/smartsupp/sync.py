"""Smartsupp streams: map the legacy REST API's listings onto local rows through
vendorkit.bulk. The partner key manages many Smartsupp accounts (a reseller may
have thousands), and every listing is a full one (no paging documented,
vendor-apis.md §5.2), so:

- `accounts` (hourly): `GET accounts/` once; every account upserted, the ones
  no longer listed marked removed, and with them their users and triggers (the
  control room's directory follows). Office hours: the legacy API documents
  only `officehours/update` (no read), and the account object carries none.
  Should an account answer ever carry them (`officeHours`, Unknown §5.2), they
  are stored; otherwise the local copy stays as the portal last wrote it (the
  Office hours page writes it with Smartsupp's answer to the update).
- `users` and `triggers` (hourly): one listing per stored account
  (`accounts/{aid}/users/`, `…/triggers/`). Accounts are taken a page at a
  time (`ACCOUNTS_PER_PAGE`, in local id order): the page's listings are
  fetched (the next page's while this one is written: `prefetch`), then its
  rows are upserted and the rows of those accounts no longer listed are marked
  removed (`reconcile(scope=...)`: the other accounts' rows are untouched),
  and the cursor past the page commits in the same transaction. A failed run
  resumes at the account after the last page stored; the cursor is cleared
  when a run completes. The queries per page do not depend on its size. A
  run that finds no account ever stored lists the accounts first.

Every row's `raw` is the vendor's object (no password: Smartsupp never sends
one, and one would be dropped), so a re-sync that finds nothing changed writes
no row (fingerprints).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from django.db import transaction

from cobrowse_portal.vendorkit.bulk import Counts, mark_removed, reconcile, upsert
from cobrowse_portal.vendorkit.errors import NotFound
from cobrowse_portal.vendorkit.lenient import as_dt
from cobrowse_portal.vendorkit.pagination import prefetch
from cobrowse_portal.vendorkit.runs import RunContext

from .models import (
    SmartsuppAccount,
    SmartsuppOfficeHours,
    SmartsuppTrigger,
    SmartsuppUser,
)
from .schemas import Account, OfficeHours, Trigger, User, as_dict, as_list

log = logging.getLogger("cobrowse.vendors.smartsupp")

#: Smartsupp accounts whose users (or triggers) are fetched and stored together,
#: in one transaction with the cursor past them (about 1,000 users a page: the
#: bulk writer's batch).
ACCOUNTS_PER_PAGE = 100
#: Keys never kept in `raw` (a user's password is write-only at Smartsupp).
SECRET_KEYS = frozenset({"password", "apiKey", "api_key"})
#: Where an account answer might carry its office hours (Unknown, §5.2: none
#: documented; read when present).
OFFICE_HOURS_KEYS = ("officeHours", "office_hours", "officehours")


def _objects(value) -> list[dict]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def _raw(d: dict, **extra) -> dict:
    raw = {k: v for k, v in d.items() if k not in SECRET_KEYS}
    raw.update(extra)
    return raw


# --- rows ---------------------------------------------------------------------
def account_row(a: Account) -> dict:
    """A SmartsuppAccount row. `client_workspace` is the portal's own (never in a
    row, so a sync keeps it)."""
    raw = a.raw
    return {
        "external_id": a.id,
        "title": a.title[:200],
        "lang": a.lang[:8],
        "account_key": a.account_key[:100],
        # Unknown (§5.2): the documented account has no times; kept if sent.
        "created_at": as_dt(raw.get("createdAt") or raw.get("created_at")),
        "updated_at": as_dt(raw.get("updatedAt") or raw.get("updated_at")),
        "raw": _raw(raw),
    }


def user_row(u: User, parent_pk: int, aid: str) -> dict:
    """A SmartsuppUser row under the stored account `parent_pk` (Smartsupp id
    `aid`, folded into `raw` so a user listed under another account is
    rewritten)."""
    return {
        "external_id": u.id,
        "smartsupp_account": parent_pk,
        "role": u.role,
        "email": u.email[:254],
        "fullname": u.fullname[:200],
        "nickname": u.nickname[:200],
        "lang": u.lang[:8],
        "active": u.active,
        "raw": _raw(u.raw, _account=aid),
    }


def trigger_row(t: Trigger, parent_pk: int, aid: str) -> dict:
    """A SmartsuppTrigger row; conditions and actions kept as Smartsupp sent
    them (their names are undocumented beyond the guide's example)."""
    raw = t.raw
    return {
        "external_id": t.id,
        "smartsupp_account": parent_pk,
        "name": t.name[:200],
        "description": t.description,
        # The guide's triggers are active unless said otherwise.
        "active": True if t.active is None else t.active,
        "event": t.event[:40],
        "only_once": t.only_once,
        "constraints": t.constraints[:16],
        "conditions": [
            c for c in as_list(raw.get("conditions")) if isinstance(c, dict)
        ],
        "actions": [a for a in as_list(raw.get("actions")) if isinstance(a, dict)],
        "raw": _raw(raw, _account=aid),
    }


def office_hours_row(hours: OfficeHours, parent_pk: int, aid: str) -> dict:
    """A SmartsuppOfficeHours row (one per account, `external_id` its id) from
    Smartsupp's answer (the update's, or an account answer carrying them)."""
    return {
        "external_id": aid,
        "smartsupp_account": parent_pk,
        "active": bool(hours.active),
        "days": list(hours.days),
        "timezone": "" if hours.timezone is None else str(hours.timezone),
        "config": [c.as_json() for c in hours.config],
        "raw": _raw(hours.raw),
    }


def store_office_hours(account, parent: SmartsuppAccount, hours: OfficeHours) -> Counts:
    """Store `parent`'s office hours as Smartsupp answered them (the Office
    hours page calls this with `update_office_hours`' answer)."""
    return upsert(
        SmartsuppOfficeHours,
        account,
        [office_hours_row(hours, parent.pk, parent.external_id)],
    )


def parents(account, ids: Iterable[str]) -> dict[str, int]:
    """Smartsupp account id -> stored SmartsuppAccount pk, in one query (no
    ORDER BY: a keyed read)."""
    ids = list(ids)
    if not ids:
        return {}
    return dict(
        SmartsuppAccount.objects.filter(account=account, external_id__in=ids)
        .order_by()
        .values_list("external_id", "pk")
    )


# --- accounts -----------------------------------------------------------------
def pull_accounts(ctx: RunContext) -> None:
    """`GET accounts/`: every account of the key, reconciled in one transaction
    with the removal of the vanished accounts' users and triggers."""
    listed = [a for a in ctx.client.list_accounts() if a.id]
    rows = [account_row(a) for a in listed]
    carried = {}
    for a in listed:
        for key in OFFICE_HOURS_KEYS:
            if isinstance(a.raw.get(key), dict):
                carried[a.id] = OfficeHours.parse(as_dict(a.raw[key]))
                break
    with transaction.atomic():
        counts = reconcile(SmartsuppAccount, ctx.account, rows)
        ctx.add(counts)
        if counts.removed:
            # A vanished account's people leave the directory with it.
            gone = {"smartsupp_account__removed_at__isnull": False}
            for model in (SmartsuppUser, SmartsuppTrigger):
                ctx.counts.removed += mark_removed(
                    model, ctx.account, set(), scope=gone
                )
        if carried:
            pks = parents(ctx.account, carried)
            ctx.add(
                upsert(
                    SmartsuppOfficeHours,
                    ctx.account,
                    [
                        office_hours_row(hours, pks[aid], aid)
                        for aid, hours in carried.items()
                        if aid in pks
                    ],
                )
            )
        ctx.page_done()


# --- users and triggers, per account --------------------------------------------
def _pages(
    listing: Callable[[str], list], accounts: list[tuple[int, str]]
) -> Iterator[list[tuple[int, str, list | None]]]:
    """Per page of accounts, (pk, aid, items) for each; items None when the
    account is gone at Smartsupp (404). HTTP only: no database use here (it
    runs in prefetch's thread)."""
    for start in range(0, len(accounts), ACCOUNTS_PER_PAGE):
        page = []
        for pk, aid in accounts[start : start + ACCOUNTS_PER_PAGE]:
            try:
                page.append((pk, aid, listing(aid)))
            except NotFound:
                page.append((pk, aid, None))
        yield page


def _pull_per_account(ctx: RunContext, model, listing, to_row) -> None:
    after = ctx.cursor.get("after") or 0
    if not SmartsuppAccount.objects.filter(account=ctx.account).exists():
        # Never listed (a new connection's streams are all due at once, in no
        # set order): list the accounts first rather than find none.
        pull_accounts(ctx)
    accounts = list(
        SmartsuppAccount.objects.filter(
            account=ctx.account, removed_at__isnull=True, pk__gt=after
        )
        .order_by("pk")
        .values_list("pk", "external_id")
    )
    for page in prefetch(_pages(listing, accounts)):
        rows = [
            to_row(item, pk, aid)
            for pk, aid, items in page
            for item in items or ()
            if item.id
        ]
        # A 404: the account is gone at Smartsupp (the accounts stream marks it
        # removed); its listing is taken as empty, so its rows are removed.
        with transaction.atomic():
            ctx.add(
                reconcile(
                    model,
                    ctx.account,
                    rows,
                    scope={"smartsupp_account_id__in": [pk for pk, _, _ in page]},
                )
            )
            ctx.page_done({"after": page[-1][0]})
    ctx.save_cursor({})


def pull_users(ctx: RunContext) -> None:
    """`GET accounts/{aid}/users/` of every stored account (the directory
    follows the rows: AgentSource)."""
    _pull_per_account(ctx, SmartsuppUser, ctx.client.list_users, user_row)


def pull_triggers(ctx: RunContext) -> None:
    """`GET accounts/{aid}/triggers/` of every stored account."""
    _pull_per_account(ctx, SmartsuppTrigger, ctx.client.list_triggers, trigger_row)
