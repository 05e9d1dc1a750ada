"""Smartsupp in the reseller's one-screen flows (vendorkit.provisioning).

A client is an account under the reseller's partner key (POST accounts/create)
plus its first user (POST accounts/{aid}/users/create). Smartsupp issues no
per-account API key (the `accountKey` is the chat code's public key), so the
client workspace is linked to the account (`client_workspace`) and gets no
vendor account of its own: copying the partner key into it would open every
account of the reseller to the client (services.create_account says the same).

A retry looks before it creates: the reseller's accounts are listed and one of
the client's name is taken over, and the account's users are listed and one
with the first agent's e-mail is taken over, so a lost answer never leaves a
second account or user behind.
"""

from __future__ import annotations

from django import forms

from cobrowse_portal.vendorkit.errors import PermanentVendorError
from cobrowse_portal.vendorkit.provisioning import (
    Holding,
    Provisioner,
    StepContext,
    same_name,
)
from cobrowse_portal.vendorkit.redaction import register_secret
from cobrowse_portal.vendorkit.runs import RejectedKeyGuard

from .models import SmartsuppAccount, SmartsuppUser
from .schemas import ROLES


class SmartsuppProvisioner(Provisioner):
    client_model = SmartsuppAccount
    client_state = "aid"
    first_agent = "a Smartsupp user with the password given here"
    secret_fields = ("password",)
    can_offboard = True

    def fields(self) -> dict[str, forms.Field]:
        return {
            "lang": forms.RegexField(
                regex=r"^[a-z]{2}$",
                initial="en",
                max_length=2,
                required=False,
                label="Smartsupp language",
                error_messages={"invalid": "Two lower-case letters, e.g. en."},
                help_text="The chat box's language (e.g. en, cs, de).",
            ),
            "role": forms.ChoiceField(
                choices=[(r, r.title()) for r in ROLES],
                initial="admin",
                required=False,
                label="First agent's Smartsupp role",
            ),
            "password": forms.CharField(
                required=False,
                min_length=6,
                max_length=128,
                label="First agent's Smartsupp password",
                widget=forms.PasswordInput(render_value=True),
                help_text="6 to 128 characters. Sent to Smartsupp only, kept "
                "encrypted until the run ends.",
            ),
        }

    def clean(self, options: dict, client: dict) -> dict:
        errors = {}
        if not options.get("password"):
            errors["password"] = "Smartsupp needs a password for the first agent."
        if errors:
            raise forms.ValidationError(errors)
        return {**options, "lang": options.get("lang") or "en"}

    def provision(self, ctx: StepContext) -> str:
        from . import services

        account = ctx.reseller_account
        api = services.client_for(account)
        name = ctx.client["name"]
        aid = ctx.state.get("aid")
        if not aid:
            with RejectedKeyGuard(account):
                found = next(
                    (a for a in api.list_accounts() if same_name(a.title, name)), None
                )
            if found is not None:
                self.refuse_if_taken(ctx, found.id, f"an account “{found.title}”")
                services.store(SmartsuppAccount, account, services.account_row(found))
                adopted = not ctx.state.get("create_sent")
                ctx.remember(aid=found.id, adopted=adopted)
            else:
                ctx.remember(create_sent=True)  # before the call: it may be lost
                made = services.create_account(
                    account, title=name, lang=ctx.options.get("lang") or "en"
                )
                ctx.remember(aid=made.smartsupp_account.external_id, adopted=False)
            aid = ctx.state["aid"]
            if not ctx.state.get("adopted"):
                ctx.made("account", name, aid)
        sa = SmartsuppAccount.objects.get(account=account, external_id=aid)
        SmartsuppAccount.objects.filter(pk=sa.pk).update(client_workspace=ctx.workspace)
        user = self._first_user(ctx, sa)
        where = (
            "already had the account: linked"
            if ctx.state.get("adopted")
            else "account created"
        )
        return (
            f"{where} (id {aid}); first agent {user.email} is a Smartsupp "
            f"{user.role or 'user'}. Smartsupp issues no per-account key: the "
            "reseller's account keeps serving this client."
        )

    def _first_user(self, ctx: StepContext, sa: SmartsuppAccount) -> SmartsuppUser:
        from . import services

        account = ctx.reseller_account
        email = ctx.client["agent_email"]
        uid = ctx.state.get("uid")
        if uid:
            return SmartsuppUser.objects.get(account=account, external_id=uid)
        with RejectedKeyGuard(account):
            found = next(
                (
                    u
                    for u in services.client_for(account).list_users(sa.external_id)
                    if same_name(u.email, email)
                ),
                None,
            )
        if found is not None:
            user = services.store(SmartsuppUser, account, services.user_row(sa, found))
            ours = bool(ctx.state.get("user_sent"))
        else:
            ctx.remember(user_sent=True)
            password = ctx.secrets.get("password") or ""
            register_secret(password)
            user = services.create_user(
                account,
                sa,
                role=ctx.options.get("role") or "admin",
                email=email,
                fullname=ctx.client["agent_name"],
                password=password,
            )
            ours = True
        ctx.remember(uid=user.external_id)
        if ours:
            ctx.made("user", email, user.external_id)
        return user

    # --- removal -----------------------------------------------------------------
    def holdings(self, workspace) -> list[Holding]:
        out = []
        for sa in self.linked(workspace):
            users = sa.users.filter(removed_at__isnull=True).count()
            out.append(
                Holding(
                    "account",
                    f"{sa.title} ({users} user{'s' if users != 1 else ''})",
                    sa.external_id,
                    "deleted at Smartsupp with its users, triggers and office hours",
                )
            )
        return out + super().holdings(workspace)

    def remove(self, ctx: StepContext) -> str:
        from . import services

        aid = ctx.state.get("aid")
        if not aid:
            return "nothing at Smartsupp"
        if ctx.reseller_account is None:
            raise PermanentVendorError(
                "No Smartsupp reseller account holds this client any more: delete "
                "the account in Smartsupp's dashboard."
            )
        sa = SmartsuppAccount.objects.filter(
            account=ctx.reseller_account, external_id=aid
        ).first()
        if sa is None:
            with RejectedKeyGuard(ctx.reseller_account):
                services.client_for(ctx.reseller_account).delete_account(aid)
        elif sa.removed_at is None:
            services.delete_account(ctx.reseller_account, sa)
        return f"account {aid} deleted at Smartsupp"

    # --- offboarding -----------------------------------------------------------
    def offboard(self, ctx: StepContext, vendor_agent) -> str:
        from . import services

        user = SmartsuppUser.objects.filter(
            account=vendor_agent.account, external_id=vendor_agent.external_id
        ).first()
        if user is None or user.removed_at is not None:
            return "already gone at Smartsupp"
        answer = services.delete_user(vendor_agent.account, user)
        return f"user {user.email} deleted at Smartsupp ({answer})"
