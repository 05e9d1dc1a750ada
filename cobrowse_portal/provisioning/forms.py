"""The new-client form: the client's own fields, then a tick per vendor with
that vendor's fields (from its `Provisioner`), built from the registry."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django import forms

from cobrowse_portal.core.models import Workspace

from .engine import provisioners, reseller_accounts


@lru_cache(maxsize=1)
def _time_zones() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones())]


def split_domains(text: str) -> list[str]:
    return [d.strip() for d in (text or "").replace("\n", ",").split(",") if d.strip()]


class VendorChoice:
    """One vendor's part of the form: its tick, account choice and fields."""

    def __init__(self, form, spec, accounts):
        self.form, self.spec, self.accounts = form, spec, accounts
        self.provisioner = spec.provisioner
        self.unavailable = ""
        if self.provisioner.reseller_api and not accounts:
            self.unavailable = (
                f"Add a {spec.label} reseller account to this workspace first."
            )

    def name(self, field: str) -> str:
        return f"{self.spec.slug}__{field}"

    @property
    def tick(self):
        return self.form[self.name("enabled")]

    @property
    def fields(self):
        return [
            self.form[n]
            for n in self.form.fields
            if n.startswith(f"{self.spec.slug}__") and n != self.name("enabled")
        ]


class NewClientForm(forms.Form):
    name = forms.CharField(max_length=120, label="Client name")
    domains = forms.CharField(
        required=False,
        max_length=1000,
        label="Domains",
        help_text="Comma separated (e.g. example.com, *.example.com); blank: any.",
    )
    time_zone = forms.ChoiceField(
        label="Time zone", help_text="Usage days and reports count in it."
    )
    agent_name = forms.CharField(max_length=150, label="First agent's name")
    agent_email = forms.EmailField(label="First agent's e-mail")

    def __init__(self, *args, reseller: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.reseller = reseller
        self.fields["time_zone"].choices = _time_zones()
        self.fields["time_zone"].initial = reseller.time_zone or "UTC"
        self.vendors: list[VendorChoice] = []
        for spec in provisioners():
            choice = VendorChoice(self, spec, reseller_accounts(reseller, spec.slug))
            self.vendors.append(choice)
            tick = forms.BooleanField(
                required=False,
                label=f"Provision at {spec.label}",
                disabled=bool(choice.unavailable),
                help_text=choice.unavailable
                or (
                    "Paste the client's existing key (no reseller API)."
                    if not choice.provisioner.reseller_api
                    else f"First agent: {choice.provisioner.first_agent}."
                ),
            )
            tick.widget.attrs["data-vendor"] = spec.slug
            self.fields[choice.name("enabled")] = tick
            if len(choice.accounts) > 1:
                self.fields[choice.name("account")] = forms.ChoiceField(
                    label=f"{spec.label} reseller account",
                    choices=[(a.pk, a.name) for a in choice.accounts],
                    required=False,
                )
            for field_name, field in choice.provisioner.fields().items():
                field.required = False  # required only when the vendor is ticked
                if field_name == "base_url":
                    field.initial = self._base_url_initial(spec) or field.initial
                self.fields[choice.name(field_name)] = field
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else ""
            if css:
                field.widget.attrs.setdefault("class", css)

    def _base_url_initial(self, spec) -> str:
        accounts = reseller_accounts(self.reseller, spec.slug)
        return accounts[0].base_url if accounts else ""

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A client needs a name.")
        clash = Workspace.objects.filter(
            parent=self.reseller, name__iexact=name, archived_at__isnull=True
        )
        if clash.exists():
            raise forms.ValidationError(
                "This reseller already has a client workspace by that name."
            )
        return name

    def clean(self):
        data = super().clean()
        chosen = [v for v in self.vendors if data.get(v.name("enabled"))]
        if not chosen and not self.errors:
            raise forms.ValidationError("Tick at least one vendor.")
        client = self.client_fields() if not self.errors else {}
        for choice in chosen:
            options = {
                name: data.get(choice.name(name))
                for name in choice.provisioner.fields()
            }
            try:
                options = choice.provisioner.clean(options, client)
            except forms.ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    key = choice.name(field)
                    self.add_error(key if key in self.fields else None, messages)
                continue
            data[f"{choice.spec.slug}:options"] = options
        return data

    def client_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data.get("name", ""),
            "domains": split_domains(data.get("domains", "")),
            "time_zone": data.get("time_zone") or "UTC",
            "agent_name": data.get("agent_name", ""),
            "agent_email": data.get("agent_email", ""),
        }

    def vendor_choices(self) -> dict[str, dict]:
        """slug -> {"account", "options", "secrets"} for the engine."""
        out = {}
        for choice in self.vendors:
            if not self.cleaned_data.get(choice.name("enabled")):
                continue
            options = dict(self.cleaned_data.get(f"{choice.spec.slug}:options", {}))
            secrets = {
                name: options.pop(name)
                for name in choice.provisioner.secret_fields
                if options.get(name)
            }
            for name in choice.provisioner.secret_fields:
                options.pop(name, None)
            account = None
            if choice.accounts:
                wanted = self.cleaned_data.get(choice.name("account"))
                account = next(
                    (a for a in choice.accounts if str(a.pk) == str(wanted)),
                    choice.accounts[0],
                )
            if not choice.provisioner.reseller_api:
                account = None
            out[choice.spec.slug] = {
                "account": account,
                "options": options,
                "secrets": secrets,
            }
        return out
