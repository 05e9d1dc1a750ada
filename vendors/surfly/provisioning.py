"""Surfly in the reseller's one-screen flows (vendorkit.provisioning).

A client is POST /clients/all/ through the reseller's key; its answer carries
the client's REST key, which goes (encrypted) into a new Surfly account of the
client workspace. The first agent is created by Surfly with the client (the
create call takes `agent_email` and `agent_name`).

Before creating, the step lists the reseller's clients and adopts one of the
same name: after a lost answer (Surfly created the client, the portal never
heard) a retry finds it instead of making a second. GET /clients/all/ carries
each client's `rest_key` (spec: Client, required), so an adopted client gets
its key too.
"""

from __future__ import annotations

import contextlib

from django import forms

from cobrowse_portal.vendorkit.bulk import upsert
from cobrowse_portal.vendorkit.errors import NotFound, PermanentVendorError
from cobrowse_portal.vendorkit.provisioning import (
    Holding,
    Provisioner,
    StepContext,
    add_account,
    disable_accounts,
    same_name,
)
from cobrowse_portal.vendorkit.redaction import register_secret

from .models import SurflyAgent, SurflyClient


class SurflyProvisioner(Provisioner):
    client_model = SurflyClient
    client_state = "client_key"
    first_agent = "created by Surfly with the client (it e-mails the invitation)"
    secret_fields = ("agent_password",)
    can_offboard = True

    def fields(self) -> dict[str, forms.Field]:
        return {
            "company_plan_name": forms.CharField(
                required=False,
                max_length=100,
                label="Surfly plan",
                widget=forms.TextInput(attrs={"placeholder": "client_enterprise"}),
                help_text="Surfly's plan name, e.g. client_basic; blank: "
                "client_enterprise.",
            ),
            "agent_password": forms.CharField(
                required=False,
                max_length=128,
                label="First agent's Surfly password",
                widget=forms.PasswordInput(render_value=True),
                help_text="Sent to Surfly only, kept encrypted until the run "
                "ends. Blank: the agent sets one through Surfly's invitation.",
            ),
        }

    # --- new client -------------------------------------------------------------
    def provision(self, ctx: StepContext) -> str:
        from . import services

        account = ctx.reseller_account
        api = services.client_for(account)
        name = ctx.client["name"]
        answer = None
        key = ctx.state.get("client_key")
        if key:
            answer = api.get_client(key)  # made by an earlier try
        else:
            answer = next(
                (c for c in api.list_clients() if same_name(c.company_name, name)),
                None,
            )
            if answer is not None:
                self.refuse_if_taken(
                    ctx, answer.client_key, f"a client named “{answer.company_name}”"
                )
                ctx.remember(
                    client_key=answer.client_key,
                    adopted=not ctx.state.get("create_sent"),
                )
            else:
                ctx.remember(
                    create_sent=True
                )  # before the call: its answer may be lost
                password = ctx.secrets.get("agent_password") or None
                if password:
                    register_secret(password)
                answer = api.create_client(
                    name,
                    ctx.client.get("domains") or [],
                    ctx.client["agent_email"],
                    ctx.client["agent_name"],
                    company_plan_name=ctx.options.get("company_plan_name") or None,
                    agent_password=password,
                )
                ctx.remember(client_key=answer.client_key)
            if not ctx.state.get("adopted"):
                ctx.made("client", name, answer.client_key)
        register_secret(answer.rest_key)
        if not answer.rest_key:
            raise PermanentVendorError("Surfly sent no REST key for the client")
        row = services.client_row_of(answer)
        if not row["domains"]:
            row["domains"] = list(ctx.client.get("domains") or []) or ["*"]
        if not row["plan"]:
            row["plan"] = ctx.options.get("company_plan_name") or ""
        upsert(SurflyClient, account, [row])
        SurflyClient.objects.filter(
            account=account, external_id=answer.client_key
        ).update(client_workspace=ctx.workspace)
        sub = add_account(
            ctx,
            {"api_key": answer.rest_key},
            base_url=account.base_url,
            name=f"Surfly · {name}",
        )
        if ctx.state.get("adopted"):
            return (
                f"Surfly already had a client “{answer.company_name}”: linked; its "
                f"REST key is stored in “{sub.name}” (no agent was added)."
            )
        return (
            f"client created (key …{answer.client_key[-4:]}); its REST key is "
            f"stored in “{sub.name}”; first agent {ctx.client['agent_email']} "
            "invited by Surfly."
        )

    # --- removal -----------------------------------------------------------------
    def holdings(self, workspace) -> list[Holding]:
        return [
            Holding("client", c.company_name, c.external_id, "deleted at Surfly")
            for c in self.linked(workspace)
        ] + super().holdings(workspace)

    def remove(self, ctx: StepContext) -> str:
        from . import services

        key = ctx.state.get("client_key")
        said = []
        if key:
            if ctx.reseller_account is None:
                raise PermanentVendorError(
                    "No Surfly reseller account holds this client any more: delete "
                    "it in Surfly's dashboard."
                )
            row = SurflyClient.objects.filter(
                account=ctx.reseller_account, external_id=key
            ).first()
            if row is None:
                with contextlib.suppress(NotFound):
                    services.client_for(ctx.reseller_account).delete_client(key)
            elif row.removed_at is None:
                services.delete_client(ctx.reseller_account, row)
            said.append(f"client …{key[-4:]} deleted at Surfly")
        said.append(disable_accounts(ctx.workspace, self.spec.slug))
        return "; ".join(said)

    # --- offboarding -----------------------------------------------------------
    def offboard(self, ctx: StepContext, vendor_agent) -> str:
        from . import services

        agent = SurflyAgent.objects.filter(
            account=vendor_agent.account, external_id=vendor_agent.external_id
        ).first()
        if agent is None or agent.removed_at is not None:
            return "already gone at Surfly"
        return services.delete_agent(vendor_agent.account, agent)
