"""What a vendor declares so the reseller's one-screen flows can drive it.

A vendor's `VendorSpec.provisioning` names a `Provisioner`: the portal's
provisioning runs (`cobrowse_portal.provisioning`) create a client there, remove
what a client has there, and offboard one person there, one step per vendor, in
Celery. Core code loops over the registry and never names a vendor.

Every step may be run again after any failure, including one whose answer was
lost after the vendor acted: a provisioner records each fact as soon as it knows
it (`StepContext.remember`, committed at once) and looks an object up at the
vendor before creating it, so a retry adopts what the first try made instead of
making a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms

from .errors import PermanentVendorError


@dataclass
class Holding:
    """One thing a client workspace has at a vendor (shown before removal)."""

    kind: str  # "client", "subscription", "account", "user", "vendor account"…
    label: str
    external_id: str = ""
    #: What removing it does there ("deleted at Surfly", "disabled in the portal").
    removal: str = ""


@dataclass
class StepContext:
    """What a provisioning step acts with. The engine builds it from the step."""

    step: Any  # provisioning.ProvisioningStep
    #: The reseller's account of this vendor (None for pasted-key vendors).
    reseller_account: Any | None
    workspace: Any  # the client workspace
    #: The client's fields: name, domains (list), time_zone, agent_name, agent_email.
    client: dict
    #: The vendor's own fields from the form (not secret).
    options: dict
    #: Secret fields (passwords, pasted keys), decrypted; wiped when the run ends.
    secrets: dict
    #: What earlier tries of this step learnt (ids, keys' account ids…).
    state: dict = field(default_factory=dict)

    def remember(self, **facts) -> None:
        """Record facts in the step at once (own statement, committed), so a
        retry after a crash or a lost answer knows them."""
        self.state.update(facts)
        type(self.step).objects.filter(pk=self.step.pk).update(state=self.state)

    def made(self, kind: str, label: str, external_id: str = "") -> None:
        """Record that this step created `label` at the vendor (listed on the run
        page, removable from there if the run is abandoned)."""
        made = [dict(m) for m in self.state.get("made", [])]
        entry = {"kind": kind, "label": label, "external_id": str(external_id)}
        if entry not in made:
            made.append(entry)
        self.remember(made=made)


class Provisioner:
    """Base class; a vendor overrides what it can do.

    - `reseller_api`: the vendor creates clients through a reseller account (the
      step needs one of the reseller workspace's accounts of this vendor);
      without one the flow asks for an existing key (`credential_fields`).
    - `fields()`: the vendor's extra form fields (plain Django form fields).
    - `provision(ctx) -> str`: create the client (idempotently), store its keys
      in a new vendor account of `ctx.workspace`, create the first agent.
    - `holdings(workspace) -> [Holding]` and `removal_state(workspace) -> dict`:
      what the client has at this vendor, and the state a removal step starts
      from; `remove(ctx) -> str` removes it (idempotently: gone counts as done).
    - `offboard(ctx, vendor_agent) -> str`: remove or disable one person.
    """

    reseller_api: bool = True
    #: Fields of `fields()` that are secrets: kept encrypted, wiped after the run.
    secret_fields: tuple[str, ...] = ()
    #: What the first agent becomes at this vendor (shown on the form).
    first_agent: str = ""
    #: Whether `offboard` can act at the vendor (else the step says what to do).
    can_offboard: bool = False

    def __init__(self, spec) -> None:
        self.spec = spec

    def fields(self) -> dict[str, forms.Field]:
        return {}

    def clean(self, options: dict, client: dict) -> dict:
        """Check the vendor's fields together with the client's; raise
        forms.ValidationError({field: message}) to refuse."""
        return options

    def provision(self, ctx: StepContext) -> str:
        raise NotImplementedError

    #: The reseller-side model whose rows are this vendor's clients (each
    #: linked to its client workspace by `client_workspace`), and the state key
    #: under which a removal step gets the row's `external_id`. None: the vendor
    #: keeps no such rows (a pasted key).
    client_model: Any = None
    client_state: str = ""

    def linked(self, workspace):
        """The client's rows at this vendor (not removed), with their account."""
        return self.client_model.objects.filter(
            client_workspace=workspace, removed_at__isnull=True
        ).select_related("account")

    def reseller_account_for(self, workspace):
        """The reseller account that holds `workspace`'s client at this vendor
        (removal acts through it); None: the engine takes the reseller's first."""
        if self.client_model is None:
            return None
        row = self.linked(workspace).first()
        return row.account if row is not None else None

    def removal_state(self, workspace) -> dict:
        if self.client_model is None:
            return {}
        row = self.linked(workspace).first()
        return {self.client_state: row.external_id} if row is not None else {}

    def refuse_if_taken(self, ctx: StepContext, external_id: str, what: str) -> None:
        """Refuse a vendor object that another client workspace already holds
        (a name clash at the vendor is not a licence to take someone's client)."""
        taken = (
            self.client_model.objects.filter(
                account=ctx.reseller_account, external_id=external_id
            )
            .exclude(client_workspace=None)
            .exclude(client_workspace=ctx.workspace)
            .select_related("client_workspace")
            .first()
        )
        if taken is not None:
            raise PermanentVendorError(
                f"{self.spec.label} already has {what}, which belongs to the "
                f"workspace “{taken.client_workspace}”: choose another name."
            )

    def holdings(self, workspace) -> list[Holding]:
        return [
            Holding(
                "vendor account",
                account.name,
                str(account.pk),
                "disabled in the portal (its data kept)",
            )
            for account in workspace.accounts.filter(vendor=self.spec.slug)
        ]

    def remove(self, ctx: StepContext) -> str:
        return disable_accounts(ctx.workspace, self.spec.slug)

    def offboard(self, ctx: StepContext, vendor_agent) -> str:
        raise PermanentVendorError(
            f"{self.spec.label} has no API to remove a user: remove "
            f"{vendor_agent.email or vendor_agent.name} in {self.spec.label}'s own "
            "dashboard."
        )


def same_name(a: str, b: str) -> bool:
    """Whether two names (or e-mails) are the same at a vendor: case and
    surrounding spaces aside (how a retry recognises what it made)."""
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def disable_accounts(workspace, vendor: str) -> str:
    """Switch the workspace's accounts of `vendor` off (their schedules go)."""
    n = 0
    for account in workspace.accounts.filter(vendor=vendor, enabled=True):
        account.enabled = False
        account.save()
        n += 1
    return f"{n} account{'s' if n != 1 else ''} disabled in the portal"


def add_account(ctx: StepContext, credentials: dict, *, base_url: str, name: str):
    """The client workspace's account of this vendor holding `credentials`
    (encrypted), made once: a retry finds the one it made (`account_id`)."""
    from cobrowse_portal.core.models import VendorAccount

    vendor = ctx.step.vendor
    account = None
    if ctx.state.get("account_id"):
        account = VendorAccount.objects.filter(
            pk=ctx.state["account_id"], workspace=ctx.workspace
        ).first()
    if account is None:
        account = VendorAccount(
            workspace=ctx.workspace, vendor=vendor, name=name[:120], base_url=base_url
        )
    account.set_credentials(credentials)
    account.enabled = True
    account.save()  # its syncs are scheduled (core.signals)
    ctx.remember(account_id=account.pk)
    return account


class PastedKey(Provisioner):
    """A vendor without a reseller API: the reseller pastes a key the client
    already has; the step checks it against the vendor and stores it in a new
    account of the client workspace (nothing is created at the vendor)."""

    reseller_api = False
    first_agent = "no user API: agents are added in the vendor's dashboard"

    def fields(self) -> dict[str, forms.Field]:
        out: dict[str, forms.Field] = {
            "base_url": forms.URLField(
                label="API base URL",
                initial=self.spec.default_base_url,
                required=False,
                assume_scheme="https",
                help_text=f"Leave blank for {self.spec.default_base_url}",
            )
        }
        for cred in self.spec.credential_fields:
            out[cred.name] = forms.CharField(
                label=cred.label,
                required=False,  # required only when the vendor is ticked
                help_text=cred.help_text,
                widget=forms.PasswordInput(render_value=True)
                if cred.secret
                else forms.TextInput(),
            )
        return out

    @property
    def secret_fields(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(c.name for c in self.spec.credential_fields if c.secret)

    def clean(self, options: dict, client: dict) -> dict:
        from . import outbound
        from .errors import OutboundBlocked

        errors = {
            c.name: f"{c.label} is needed to add {self.spec.label}."
            for c in self.spec.credential_fields
            if c.required and not (options.get(c.name) or "").strip()
        }
        url = (options.get("base_url") or self.spec.default_base_url).rstrip("/")
        try:  # the outbound policy, early and friendly (every call checks again)
            outbound.check_resolves_public(url)
        except OutboundBlocked as exc:
            errors["base_url"] = exc.message
        if errors:
            raise forms.ValidationError(errors)
        return {**options, "base_url": url}

    def provision(self, ctx: StepContext) -> str:
        from cobrowse_portal.core.models import VendorAccount

        values = {**ctx.options, **ctx.secrets}
        creds = {
            c.name: (values.get(c.name) or "").strip()
            for c in self.spec.credential_fields
            if (values.get(c.name) or "").strip()
        }
        base_url = (ctx.options.get("base_url") or "").strip() or (
            self.spec.default_base_url
        )
        probe = VendorAccount(vendor=self.spec.slug, base_url=base_url)
        probe.set_credentials(creds)
        probe.client().check_connection()  # refused key: the vendor's own words
        account = add_account(
            ctx,
            creds,
            base_url=base_url,
            name=f"{self.spec.label} · {ctx.client['name']}",
        )
        return f"key checked with {self.spec.label} and stored in “{account.name}”"
