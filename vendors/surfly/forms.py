"""Surfly forms: filters, write forms, and the options form built from Surfly's dict."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from cobrowse_portal.core.formfields import BoundedJSONField, parse_json_text
from cobrowse_portal.core.vendorforms import VendorFormMixin
from cobrowse_portal.core.widgets import FastWidgetsMixin

from .schemas import WEBHOOK_CATEGORIES

ROLE_CHOICES = [("agent", "Agent"), ("manager", "Manager"), ("admin", "Admin")]
YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]

_DOMAIN = re.compile(
    r"^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?)$"
)
_OPTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
MAX_INT = 2**31 - 1  # the duration column is a 32-bit integer on PostgreSQL
#: Integer company options: Surfly documents none of their ranges (the spec types
#: them as int32 with examples only), so these are the sensible ones; any other
#: integer option is 0..int32.
INT_OPTION_BOUNDS = {"theme_font_size": (6, 72)}


def split_list(value: str) -> list[str]:
    """'a, b,,c' → ['a', 'b', 'c'] (order kept, duplicates dropped)."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", value or ""):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


# --- filters ----------------------------------------------------------------------
class AgentFilterForm(FastWidgetsMixin, forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name or e-mail"}
        ),
    )
    role = forms.ChoiceField(required=False, choices=[("", "Any role"), *ROLE_CHOICES])
    available = forms.ChoiceField(required=False, choices=YES_NO)
    free = forms.ChoiceField(required=False, choices=YES_NO)


def _sane_date(value):
    # Dates at the ends of the calendar overflow once shifted by a time zone.
    if value and not 1900 <= value.year <= 9998:
        raise forms.ValidationError("Pick a date between 1900 and 9998.")
    return value


class HistoryFilterForm(FastWidgetsMixin, forms.Form):
    active_session = forms.ChoiceField(required=False, choices=YES_NO, label="Active")
    agent = forms.ChoiceField(required=False)
    pin = forms.CharField(
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"placeholder": "PIN", "size": 6}),
    )
    tags = forms.CharField(
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "tag, tag"}),
    )
    min_duration = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_INT,
        label="Min s",
        widget=forms.NumberInput(attrs={"size": 6}),
    )
    max_duration = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_INT,
        label="Max s",
        widget=forms.NumberInput(attrs={"size": 6}),
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_since(self):
        return _sane_date(self.cleaned_data.get("since"))

    def clean_until(self):
        return _sane_date(self.cleaned_data.get("until"))

    def __init__(self, *args, agents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [
            ("", "Any agent"),
            ("null", "No agent"),
            *[(a.external_id, str(a)) for a in agents],
        ]


# --- agents -----------------------------------------------------------------------
class AgentCreateForm(VendorFormMixin, forms.Form):
    vendor_fields = {"agent_name": "username", "email": "agent_email"}

    username = forms.CharField(max_length=150, label="Name")
    agent_email = forms.EmailField(label="E-mail")
    # Kept on a re-render so a transient failure loses nothing the user typed.
    password = forms.CharField(
        max_length=128, widget=forms.PasswordInput(render_value=True)
    )
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="agent")


class AgentEditForm(VendorFormMixin, forms.Form):
    vendor_fields = {"agent_name": "username"}

    username = forms.CharField(max_length=150, label="Name")
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    available = forms.BooleanField(required=False, label="Available for calls")


# --- sessions ---------------------------------------------------------------------
#: The session options offered as fields: (name, kind, label). Everything else goes
#: through "other options (JSON)".
SESSION_OPTIONS: list[tuple[str, str, str]] = [
    ("videochat", "bool", "Video chat available"),
    ("start_with_videochat_on", "bool", "Start with video chat on"),
    ("start_muted", "bool", "Start muted"),
    ("start_with_chat_open", "bool", "Start with the chat open"),
    ("chat_logs_enabled", "bool", "Keep chat logs"),
    ("filesharing_enabled", "bool", "File sharing"),
    ("invitations_allowed", "bool", "Invitations allowed"),
    ("block_until_agent_joins", "bool", "Block the page until an agent joins"),
    ("private_session", "bool", "Private session"),
    ("hide_cursors", "bool", "Hide cursors"),
    ("format_session_id", "bool", "Formatted session id (123-123-123)"),
    ("language", "str", "Language (e.g. en)"),
    ("leader_redirect_url", "url", "Leader redirect URL at the end"),
    ("follower_redirect_url", "url", "Follower redirect URL at the end"),
    ("end_of_session_popup_url", "url", "End-of-session pop-up URL"),
]
RESERVED_BODY_KEYS = {"url", "tags", "agent_id", "skip_queue"}


class SessionStartForm(VendorFormMixin, forms.Form):
    vendor_fields = {
        "agent_id": "agent",
        **{name: f"opt_{name}" for name, _, _ in SESSION_OPTIONS},
    }

    url = forms.URLField(max_length=1000, assume_scheme="https", label="Start URL")
    tags = forms.CharField(
        required=False, max_length=500, help_text="Comma separated, e.g. billing, vip"
    )
    agent = forms.ChoiceField(required=False)
    skip_queue = forms.BooleanField(
        required=False, help_text="Do not put the session in the queue."
    )
    other_options = forms.CharField(
        required=False,
        label="Other options (JSON)",
        widget=forms.Textarea(
            attrs={"rows": 4, "class": "mono", "placeholder": '{"white_label": true}'}
        ),
        help_text="A JSON object of further session options; it wins over the "
        "fields above.",
    )

    def __init__(self, *args, agents=(), defaults: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.defaults = defaults or {}
        self.fields["agent"].choices = [
            ("", "No agent (queue or any free agent)"),
            *[(a.external_id, f"{a}{' · free' if a.is_free else ''}") for a in agents],
        ]
        for name, kind, label in SESSION_OPTIONS:
            default = self.defaults.get(name)
            if kind == "bool":
                field = forms.BooleanField(
                    required=False, label=label, initial=bool(default)
                )
            elif kind == "url":
                field = forms.URLField(
                    required=False,
                    label=label,
                    max_length=500,
                    assume_scheme="https",
                    initial=default if isinstance(default, str) else "",
                )
            else:
                field = forms.CharField(
                    required=False,
                    label=label,
                    max_length=100,
                    initial=default if isinstance(default, str) else "",
                )
            self.fields[f"opt_{name}"] = field

    @property
    def option_fields(self):
        return [self[f"opt_{name}"] for name, _, _ in SESSION_OPTIONS]

    @property
    def main_fields(self):
        return [self[n] for n in ("url", "tags", "agent", "skip_queue")]

    def clean_tags(self) -> list[str]:
        tags = split_list(self.cleaned_data.get("tags", ""))
        if any(len(t) > 100 for t in tags):
            raise forms.ValidationError("Keep each tag under 100 characters.")
        return tags

    def clean_other_options(self) -> dict:
        text = (self.cleaned_data.get("other_options") or "").strip()
        if not text:
            return {}
        value = parse_json_text(text)
        if not isinstance(value, dict):
            raise forms.ValidationError(
                'Write a JSON object, e.g. {"white_label": true}.'
            )
        clash = sorted(RESERVED_BODY_KEYS & set(value))
        if clash:
            raise forms.ValidationError(
                f"Use the fields above for {', '.join(clash)}, not the JSON."
            )
        return value

    def chosen_options(self) -> dict[str, Any]:
        """Options that differ from the company defaults, plus the JSON extras."""
        chosen: dict[str, Any] = {}
        for name, kind, _ in SESSION_OPTIONS:
            value = self.cleaned_data.get(f"opt_{name}")
            default = self.defaults.get(name)
            if kind == "bool":
                # Unknown default: only a ticked box says anything.
                known = name in self.defaults
                if (known and value != bool(default)) or (not known and value):
                    chosen[name] = value
            elif value and value != default:
                chosen[name] = value
        chosen.update(self.cleaned_data.get("other_options") or {})
        return chosen


class ScreenshotForm(forms.Form):
    """Surfly requires both; the defaults are its spec's example (a blank field
    falls back to them too)."""

    size = forms.IntegerField(
        required=False,
        min_value=100,
        max_value=4000,
        initial=1024,
        label="Width (px)",
        widget=forms.NumberInput(attrs={"size": 5}),
    )
    interval = forms.IntegerField(
        required=False,
        min_value=5,
        max_value=3600,
        initial=30,
        label="Every (s)",
        help_text="Surfly takes a new screenshot this often while you watch.",
        widget=forms.NumberInput(attrs={"size": 4}),
    )


# --- company options --------------------------------------------------------------
class CompanyOptionsForm(VendorFormMixin, forms.Form):
    """One field per stored option: bool → checkbox, int → number, str → text,
    list/dict → JSON textarea. `changes()` gives only the edited keys."""

    def __init__(self, *args, options: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.original = dict(options or {})
        self.skipped: list[str] = []
        for key in sorted(self.original):
            if not _OPTION_NAME.match(key):
                self.skipped.append(key)  # shown read-only; never a form field name
                continue
            value = self.original[key]
            label = key.replace("_", " ").capitalize()
            if isinstance(value, bool):
                field = forms.BooleanField(required=False, label=label, initial=value)
            elif isinstance(value, int):
                low, high = INT_OPTION_BOUNDS.get(key, (0, MAX_INT))
                field = forms.IntegerField(
                    label=label, initial=value, min_value=low, max_value=high
                )
            elif isinstance(value, float):
                # Django's FloatField already refuses NaN and Infinity.
                field = forms.FloatField(
                    label=label, initial=value, min_value=0, max_value=1e9
                )
            elif isinstance(value, str):
                field = forms.CharField(
                    required=False,
                    label=label,
                    initial=value,
                    strip=False,
                    max_length=5000,
                )
            else:
                field = BoundedJSONField(
                    required=False,
                    label=label,
                    initial=value,
                    widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
                    help_text="JSON",
                )
            self.fields[key] = field

    def clean(self):
        data = super().clean()
        for key, field in self.fields.items():
            if isinstance(field, BoundedJSONField) and key in data:
                expected = self.original.get(key)
                value = data[key]
                if isinstance(expected, list) and not isinstance(value, list):
                    self.add_error(key, "Write a JSON list, e.g. [].")
                elif isinstance(expected, dict) and not isinstance(value, dict):
                    self.add_error(key, "Write a JSON object, e.g. {}.")
        return data

    def changes(self) -> dict[str, Any]:
        out = {}
        for key in self.fields:
            if key not in self.cleaned_data:
                continue
            value, old = self.cleaned_data[key], self.original.get(key)
            if value != old or type(value) is not type(old):
                out[key] = value
        return out


# --- webhooks ---------------------------------------------------------------------
class WebhookForm(VendorFormMixin, forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", label="Receiver URL")
    category = forms.ChoiceField(label="Event")
    enabled = forms.BooleanField(required=False, initial=True)
    ssl_verification = forms.BooleanField(
        required=False, initial=True, label="Verify the receiver's TLS certificate"
    )

    def __init__(self, *args, current_category: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        categories = list(WEBHOOK_CATEGORIES)
        if current_category and current_category not in categories:
            categories.append(current_category)
        self.fields["category"].choices = [(c, c) for c in categories]


# --- reseller clients -------------------------------------------------------------
class DomainsField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        kwargs.setdefault("help_text", "Comma separated; * allows any domain.")
        super().__init__(**kwargs)

    def clean(self, value):
        domains = split_list(super().clean(value))
        bad = [d for d in domains if not _DOMAIN.match(d)]
        if bad:
            raise forms.ValidationError(f"Not a domain: {', '.join(bad[:5])}")
        if not domains and self.required:
            raise forms.ValidationError("Give at least one domain (or *).")
        return domains


class ClientCreateForm(VendorFormMixin, forms.Form):
    company_name = forms.CharField(max_length=200)
    company_plan_name = forms.CharField(
        required=False,
        max_length=100,
        label="Plan",
        widget=forms.TextInput(attrs={"placeholder": "client_enterprise"}),
        help_text="Surfly's plan name, e.g. client_basic; blank: client_enterprise.",
    )
    domains = DomainsField(
        required=False, help_text="Comma separated; blank or * allows any domain."
    )
    agent_email = forms.EmailField(label="First agent's e-mail")
    agent_name = forms.CharField(max_length=150, label="First agent's name")
    agent_password = forms.CharField(
        required=False,
        max_length=128,
        label="First agent's password",
        # Kept on a re-render so a transient failure loses nothing the user typed.
        widget=forms.PasswordInput(render_value=True),
        help_text="Sent to Surfly only, never stored here. Blank: the agent sets "
        "one through Surfly's invitation.",
    )
    create_workspace = forms.BooleanField(
        required=False,
        initial=True,
        label="Also create a client workspace with this client's REST key",
        help_text="The key is stored encrypted in the new workspace's Surfly account "
        "and is never shown.",
    )


class ClientRenameForm(VendorFormMixin, forms.Form):
    company_name = forms.CharField(max_length=200)


class ClientDomainsForm(VendorFormMixin, forms.Form):
    domains = DomainsField()
