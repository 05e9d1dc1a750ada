"""Forms of the portal core."""

from __future__ import annotations

from django import forms

from cobrowse_portal.vendorkit import outbound, registry
from cobrowse_portal.vendorkit.errors import OutboundBlocked

from .models import VendorAccount
from .widgets import FastWidgetsMixin

MASK = "••••••••"


class VendorAccountForm(forms.ModelForm):
    """Account settings plus the vendor's credential fields from the registry.

    Secret fields are write-only: never rendered back, shown masked, and left
    unchanged when submitted blank.
    """

    class Meta:
        model = VendorAccount
        fields = ["name", "base_url", "enabled"]
        help_texts = {
            "base_url": "The vendor's API root. Leave as is for the live service, "
            "or point it at a sandbox or an on-premise install."
        }

    def __init__(self, *args, vendor: str, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = registry.get(vendor)
        self.workspace = workspace
        self.fields["base_url"].required = False
        self.fields["base_url"].initial = self.spec.default_base_url
        self.has_stored = bool(self.instance.pk and self.instance.credentials_encrypted)
        for cf in self.spec.credential_fields:
            if cf.secret:
                widget = forms.PasswordInput(
                    render_value=False,
                    attrs={
                        "autocomplete": "new-password",
                        "placeholder": MASK + " (stored; blank keeps it)"
                        if self.has_stored
                        else "",
                    },
                )
            else:
                widget = forms.TextInput()
            self.fields[f"cred_{cf.name}"] = forms.CharField(
                label=cf.label,
                required=cf.required and not self.has_stored,
                help_text=cf.help_text,
                widget=widget,
                strip=True,
            )
            if not cf.secret and self.has_stored:
                self.fields[f"cred_{cf.name}"].initial = self.instance.credentials.get(
                    cf.name, ""
                )

    def clean_base_url(self) -> str:
        url = (self.cleaned_data.get("base_url") or self.spec.default_base_url).rstrip(
            "/"
        )
        # The outbound policy, early and friendly (https, public addresses unless
        # VENDOR_ALLOWED_HOSTS names the host); every call checks again when it
        # connects, which is the real guarantee.
        try:
            outbound.check_resolves_public(url)
        except OutboundBlocked as exc:
            raise forms.ValidationError(exc.message) from None
        return url

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = VendorAccount.objects.filter(
            workspace=self.workspace, vendor=self.spec.slug, name=name
        ).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                "This workspace already has an account by that name."
            )
        return name

    def credential_values(self) -> dict[str, str]:
        """Submitted credentials merged over the stored ones (blank keeps stored)."""
        stored = self.instance.credentials if self.has_stored else {}
        values = dict(stored)
        for cf in self.spec.credential_fields:
            submitted = self.cleaned_data.get(f"cred_{cf.name}", "")
            if submitted:
                values[cf.name] = submitted
        return values

    def credentials_changed(self) -> bool:
        return any(
            self.cleaned_data.get(f"cred_{cf.name}")
            for cf in self.spec.credential_fields
        )

    def save(self, commit: bool = True) -> VendorAccount:
        account = super().save(commit=False)
        account.workspace = self.workspace
        account.vendor = self.spec.slug
        if self.credentials_changed() or not self.has_stored:
            account.set_credentials(self.credential_values())
        if commit:
            account.save()
        return account


class ScheduleForm(forms.Form):
    every = forms.IntegerField(
        min_value=30, max_value=7 * 86400, label="Every (seconds)"
    )
    enabled = forms.BooleanField(required=False)


class RunFilterForm(FastWidgetsMixin, forms.Form):
    account = forms.ModelChoiceField(
        queryset=VendorAccount.objects.none(), required=False
    )
    stream = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(required=False)
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, workspace, **kwargs):
        from .choices import RunStatus

        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = VendorAccount.objects.filter(
            workspace=workspace
        )
        self.fields["status"].choices = [("", "Any status"), *RunStatus.choices]
