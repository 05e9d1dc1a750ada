"""The demo's portal-side Smartsupp rows (`manage.py demo_setup`).

The streams fill accounts, users and triggers when `make run` starts (new
schedules are due at once). Finished chats come only by Smartsupp's POST hook,
which nothing posts in a fresh demo, so the Chats page and the control room
would be empty. The demo therefore:

- points each sandbox account of the demo keys (the first `HOOKED_ACCOUNTS`)
  at its portal account's receiver, as Smartsupp support would on request, so
  the sandbox's control endpoint (`POST accounts/{aid}/_sandbox/finished-chat`)
  posts there;
- stores `DEMO_CHATS` finished chats of the sandbox (the hook's own bodies, a
  few missed or offline, spread over the last hours) through the intake's
  `store_chats`, as if they had been posted. Deterministic chat ids: running
  the demo again updates the same chats;
- stores the demo keys' accounts and their office hours as the sandbox holds
  them, as if the portal had written them: Smartsupp documents no read of
  office hours (only `officehours/update`), so no stream brings them and the
  Office hours page would otherwise start empty. The accounts go through the
  accounts stream's own mapping, so its first run finds them unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.utils import timezone

from cobrowse_portal.vendorkit.bulk import upsert

from .models import SmartsuppAccount
from .sandbox.hook import finished_chat
from .sandbox.models import Account, ApiKey, OfficeHours
from .sandbox.views import account_json, office_json
from .schemas import Account as AccountAnswer
from .schemas import OfficeHours as OfficeHoursAnswer
from .sync import account_row, store_office_hours
from .webhooks import store_chats

#: Chats stored per demo portal account (spread over its first accounts).
DEMO_CHATS = 24
#: Sandbox accounts per key whose hook URL is set to the portal's receiver.
HOOKED_ACCOUNTS = 3


def _portal_origin(account) -> str:
    """The portal's origin as the demo reaches it (the sandbox is mounted on
    the portal itself: the account's base URL minus the sandbox path)."""
    parts = urlsplit(account.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _office_hours(account, key) -> int:
    """The key's Smartsupp accounts and their office hours, stored as the
    sandbox has them (see the module docstring)."""
    vendor = list(Account.objects.filter(owner=key).order_by("number"))
    upsert(
        SmartsuppAccount,
        account,
        [account_row(AccountAnswer.parse(account_json(a))) for a in vendor],
    )
    parents = {
        p.external_id: p for p in SmartsuppAccount.objects.filter(account=account)
    }
    stored = 0
    for hours in OfficeHours.objects.filter(account__in=vendor).select_related(
        "account"
    ):
        parent = parents.get(str(hours.account.number))
        if parent is not None:
            store_office_hours(
                account, parent, OfficeHoursAnswer.parse(office_json(hours))
            )
            stored += 1
    return stored


def demo_rows(accounts: dict) -> str:
    """Hook the demo keys' first sandbox accounts to their portal accounts'
    receivers and store their recent finished chats ({"reseller": account,
    "client": account})."""
    chats = hooked = hours = 0
    now = timezone.now()
    for account in accounts.values():
        key = ApiKey.objects.filter(
            key=(account.credentials or {}).get("api_key", "")
        ).first()
        if key is None:
            continue
        vendor_accounts = list(
            Account.objects.filter(owner=key).order_by("number")[:HOOKED_ACCOUNTS]
        )
        if not vendor_accounts:
            continue
        url = _portal_origin(account) + account.webhook_path
        for vendor in vendor_accounts:
            if vendor.hook_url != url:
                vendor.hook_url = url
                vendor.save(update_fields=["hook_url"])
            hooked += 1
        payloads = [
            finished_chat(
                vendor_accounts[i % len(vendor_accounts)],
                seed=1000 + i,
                now=now - timedelta(minutes=17 * i),
                missed=i % 6 == 4,
                offline=i % 8 == 7,
            )
            for i in range(DEMO_CHATS)
        ]
        chats += store_chats(account, payloads)
        hours += _office_hours(account, key)
    if not chats:
        return "the sandbox is not seeded"
    return (
        f"{chats} finished chats stored, {hooked} sandbox accounts hooked, "
        f"{hours} accounts' office hours"
    )
