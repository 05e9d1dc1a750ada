"""SameSurf in the reseller's one-screen flows (vendorkit.provisioning).

A client is a subscription (POST reseller/createsubscription, named after the
client, with its licence count) plus an API key (reseller/createapikey) that
goes, with its secret, encrypted into a new SameSurf account of the client
workspace.

SameSurf has no call that lists or reads subscriptions, so a retry cannot look
one up; instead it sends the create again and reads errorcode 114 ("Subscription
already exists") as "made by the earlier try whose answer was lost" (the step
records each try before sending it). Asking for a key then proves it is this
reseller's (another reseller's subscription answers 117). SameSurf has no user
API either: the first agent is invited in SameSurf's own dashboard.
"""

from __future__ import annotations

import contextlib

from django import forms
from django.db import transaction

from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.errors import NotFound, VendorError
from cobrowse_portal.vendorkit.provisioning import (
    Holding,
    Provisioner,
    StepContext,
    add_account,
    disable_accounts,
)

from .models import SameSurfSubscription

ALREADY_EXISTS = 114


class SameSurfProvisioner(Provisioner):
    client_model = SameSurfSubscription
    client_state = "subscription"
    first_agent = "no user API: the client's agents are invited in SameSurf"

    def fields(self) -> dict[str, forms.Field]:
        return {
            "license_count": forms.IntegerField(
                label="SameSurf licences",
                min_value=1,
                max_value=10_000,
                initial=5,
                required=False,
                help_text="Seats of the new subscription (SameSurf's licensecount).",
            )
        }

    def clean(self, options: dict, client: dict) -> dict:
        if not options.get("license_count"):
            raise forms.ValidationError(
                {"license_count": "How many SameSurf licences? (1 or more)"}
            )
        return options

    def provision(self, ctx: StepContext) -> str:
        from . import services

        account = ctx.reseller_account
        api = services.client_for(account)
        name = ctx.client["name"]
        count = int(ctx.options["license_count"])
        adopted = False
        if not ctx.state.get("subscription"):
            tries = int(ctx.state.get("create_tries", 0))
            ctx.remember(create_tries=tries + 1)  # before the call: it may be lost
            try:
                api.create_subscription(name, count)
            except VendorError as exc:
                if exc.vendor_code != ALREADY_EXISTS:
                    raise
                # A name SameSurf had before this run: taken over only if the
                # key call below shows it is this reseller's.
                adopted = tries == 0
            ctx.remember(subscription=name, adopted=adopted)
            if not adopted:
                ctx.made("subscription", name, name)
        adopted = bool(ctx.state.get("adopted"))
        row = {
            "external_id": name,
            "name": name[:200],
            "license_count": count,
            "raw": {"name": name, "licensecount": count},
        }
        if adopted:  # what SameSurf holds is unknown: keep what the portal knew
            known = SameSurfSubscription.objects.filter(
                account=account, external_id=name
            ).first()
            if known is not None:
                row["license_count"] = known.license_count
        upsert(SameSurfSubscription, account, [row])
        sub = SameSurfSubscription.objects.get(account=account, external_id=name)
        client_account = None
        if ctx.state.get("account_id"):
            client_account = ctx.workspace.accounts.filter(
                pk=ctx.state["account_id"]
            ).first()
        if client_account is None:
            key = api.create_api_key(name)  # 117 if the name is another reseller's
            with transaction.atomic():
                services.store_key(sub, key.api_key, key.api_secret)
                client_account = add_account(
                    ctx,
                    {"api_key": key.api_key, "api_secret": key.api_secret},
                    base_url=account.base_url,
                    name=f"SameSurf · {name}",
                )
        SameSurfSubscription.objects.filter(pk=sub.pk).update(
            client_workspace=ctx.workspace, client_account=client_account
        )
        what = "already existed at SameSurf: linked" if adopted else "created"
        return (
            f"subscription “{name}” {what} ({row['license_count']} licences); its "
            f"API key is stored in “{client_account.name}”. SameSurf has no user "
            f"API: invite {ctx.client.get('agent_email') or 'the first agent'} in "
            "SameSurf's dashboard."
        )

    # --- removal -----------------------------------------------------------------
    def holdings(self, workspace) -> list[Holding]:
        return [
            Holding(
                "subscription",
                f"{s.name} ({s.license_count} licences)",
                s.external_id,
                "deleted at SameSurf with its API keys",
            )
            for s in self.linked(workspace)
        ] + super().holdings(workspace)

    def remove(self, ctx: StepContext) -> str:
        from . import services

        name = ctx.state.get("subscription")
        said = []
        if name:
            row = None
            if ctx.reseller_account is not None:
                row = SameSurfSubscription.objects.filter(
                    account=ctx.reseller_account, external_id=name
                ).first()
            if row is not None and row.removed_at is None:
                services.delete_subscription(ctx.reseller_account, row)
            elif row is None and ctx.reseller_account is not None:
                with contextlib.suppress(NotFound):  # 118: gone already
                    services.client_for(ctx.reseller_account).delete_subscription(name)
            said.append(f"subscription “{name}” deleted at SameSurf")
        said.append(disable_accounts(ctx.workspace, self.spec.slug))
        return "; ".join(said)
