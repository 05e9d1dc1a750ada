"""The demo's portal-side SameSurf rows (`manage.py demo_setup`).

SameSurf has no call listing scheduled rooms or a reseller's subscriptions:
the portal knows the ones it made. The seeded sandbox holds some made "before"
the demo, so the demo stores them here as if the portal had made them (the
scheduled rooms with their links, the client subscriptions with their API keys,
encrypted, Globex's linked to the demo's client workspace). Running rooms,
history and the overview come from the streams, which run when `make run`
starts (new schedules are due at once).
"""

from __future__ import annotations

from django.utils import timezone

from cobrowse_portal.vendorkit.bulk import upsert

from .models import SameSurfApiKey, SameSurfScheduledRoom, SameSurfSubscription
from .sandbox import records
from .sandbox.models import ApiKey, Room, Subscription


def _scheduled(account, subscription: Subscription) -> int:
    rooms = Room.objects.filter(
        subscription=subscription, event_at__isnull=False, started_at__isnull=True
    ).order_by("event_at")
    rows = []
    for room in rooms:
        links = records.invitations(room)
        rows.append(
            {
                "external_id": room.number,
                "title": room.title,
                "start_url": room.start_url[:1000],
                "event_at": room.event_at,
                "timezone": room.timezone,
                "length_minutes": room.length_minutes,
                "invitees": room.invitees,
                "invite_message": room.invite_message,
                "leader_link": links["privateinvitation"],
                "invitee_link": links["publicinvitation"],
                "raw": {"room": room.number, **links},
            }
        )
    if rows:
        upsert(SameSurfScheduledRoom, account, rows)
    return len(rows)


def _subscriptions(account, reseller: Subscription, client_account) -> int:
    clients = list(reseller.clients.order_by("name"))
    upsert(
        SameSurfSubscription,
        account,
        [
            {
                "external_id": sub.name,
                "name": sub.name,
                "license_count": sub.license_count,
                "overrides": sub.overrides,
                "bookmarks": sub.bookmarks,
                "disabled_features": sub.disabled_features,
                "raw": {"name": sub.name, "licensecount": sub.license_count},
            }
            for sub in clients
        ],
    )
    stored = {
        s.name: s
        for s in SameSurfSubscription.objects.filter(
            account=account, name__in=[c.name for c in clients]
        )
    }
    client_key = (
        (client_account.credentials or {}).get("api_key") if client_account else ""
    )
    for key in ApiKey.objects.filter(subscription__in=clients).select_related(
        "subscription"
    ):
        sub = stored[key.subscription.name]
        if client_account is not None and key.key == client_key:
            SameSurfSubscription.objects.filter(pk=sub.pk).update(
                client_workspace=client_account.workspace, client_account=client_account
            )
        row = SameSurfApiKey.build(sub, key.key, key.secret)
        if not SameSurfApiKey.objects.filter(
            account=account, external_id=row.external_id
        ).exists():
            row.save()
    return len(clients)


def demo_rows(accounts: dict) -> str:
    """Store the sandbox's scheduled rooms and client subscriptions for the demo
    accounts ({"reseller": account, "client": account})."""
    reseller = accounts.get("reseller")
    if reseller is None:
        return "no reseller account"
    creds = reseller.credentials
    vendor_sub = Subscription.objects.filter(keys__key=creds.get("api_key")).first()
    if vendor_sub is None:
        return "the sandbox is not seeded"
    scheduled = _scheduled(reseller, vendor_sub)
    subs = _subscriptions(reseller, vendor_sub, accounts.get("client"))
    client = accounts.get("client")
    if client is not None:
        client_sub = Subscription.objects.filter(
            keys__key=client.credentials.get("api_key")
        ).first()
        if client_sub is not None:
            scheduled += _scheduled(client, client_sub)
    stamp = timezone.now().strftime("%H:%M")
    return f"{scheduled} scheduled rooms, {subs} subscriptions stored ({stamp})"
