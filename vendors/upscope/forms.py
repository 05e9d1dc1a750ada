"""Upscope forms: the visitor search (Upscope's token syntax), the watch link's
branding and permission choices, agent lookup, the delete-all confirmation and
the session filters."""

from __future__ import annotations

from django import forms

from cobrowse_portal.core.vendorforms import VendorFormMixin
from cobrowse_portal.core.widgets import FastWidgetsMixin

from .client import search_query
from .schemas import PERMISSIONS

PERMISSION_LABELS = {
    "allow_agent_redirect": "Redirect and reload the visitor's page",
    "allow_audio": "Audio",
    "allow_click": "Click for the visitor",
    "allow_console": "Remote console",
    "allow_draw": "Draw on the page",
    "allow_scroll": "Scroll for the visitor",
    "allow_type": "Type for the visitor",
    "allow_confetti": "Throw confetti",
    "allow_notes": "Agent notes",
    "allow_show_agent_screen": "Share the agent's screen",
    "allow_request_visitor_screen": "Ask for the visitor's full screen",
    "hide_private_details": "Hide the visitor's private details (IP address…)",
}
NAKED_CHOICES = [
    ("false", "Upscope's frame and logo"),
    ("true", "No Upscope logo (for an iframe)"),
    ("page_only", "Page only (no agent interface)"),
]
NAKED_VALUES = {"false": False, "true": True, "page_only": "page_only"}
#: The watch link's flat metadata: this many "key=value" lines at most.
MAX_METADATA = 20


class VisitorSearchForm(FastWidgetsMixin, forms.Form):
    """One box, Upscope's own search syntax (vendor-apis.md §3.6)."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "online #VIP ana@example.com"}
        ),
    )


class WatchForm(VendorFormMixin, forms.Form):
    """A watch link's options; the agent is the signed-in person (their
    directory entry), never typed."""

    vendor_fields = {"metadata": "metadata", "agent": "__all__"}

    naked = forms.ChoiceField(
        label="Branding", choices=NAKED_CHOICES, initial="false", required=False
    )
    on_end_url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        label="After the session, go to",
        help_text="Empty: Upscope tries to close the window.",
    )
    initial_notes = forms.CharField(
        required=False,
        max_length=2000,
        label="Starting notes",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    metadata = forms.CharField(
        required=False,
        max_length=4000,
        label="Metadata",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "ticket=4711"}),
        help_text="One key=value a line, stored on the session (flat: text, "
        "numbers, true/false).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, default in PERMISSIONS.items():
            self.fields[f"perm_{name}"] = forms.BooleanField(
                required=False,
                initial=default,
                label=PERMISSION_LABELS.get(name, name),
            )

    def permission_fields(self) -> list:
        return [self[f"perm_{name}"] for name in PERMISSIONS]

    def clean_metadata(self) -> dict:
        out: dict = {}
        for number, line in enumerate(self.cleaned_data["metadata"].splitlines(), 1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise forms.ValidationError(
                    f"Line {number}: write key=value (e.g. ticket=4711)."
                )
            if key in out:
                raise forms.ValidationError(f"Line {number}: {key} appears twice.")
            out[key] = {"true": True, "false": False}.get(value.lower(), value)
        if len(out) > MAX_METADATA:
            raise forms.ValidationError(f"At most {MAX_METADATA} keys.")
        return out

    def watch_options(self) -> dict:
        """The service's keyword arguments (only the permissions changed from
        Upscope's defaults are sent)."""
        data = self.cleaned_data
        changed = {
            name: data[f"perm_{name}"]
            for name, default in PERMISSIONS.items()
            if data[f"perm_{name}"] != default
        }
        return {
            "naked": NAKED_VALUES.get(data.get("naked") or "false", False),
            "permissions": changed,
            "metadata": data["metadata"],
            "on_end_url": data["on_end_url"],
            "initial_notes": data["initial_notes"],
        }


class DeleteOfflineForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand: Upscope deletes every visitor who is offline now, "
        "with their data, and this cannot be undone.",
    )


class AgentLookupForm(VendorFormMixin, FastWidgetsMixin, forms.Form):
    email = forms.EmailField(required=False, max_length=254, label="E-mail")
    external_id = forms.CharField(
        required=False,
        max_length=200,
        label="External id",
        help_text="The id your integration gives an agent (a watch link's agent id).",
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("email")) == bool((data.get("external_id") or "").strip()):
            raise forms.ValidationError(
                "Give an e-mail (an Upscope user) or an external id (an API "
                "agent), not both."
            )
        return data


class SessionFilterForm(FastWidgetsMixin, forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), ("ongoing", "Ongoing"), ("ended", "Ended")],
    )
    visitor = forms.CharField(
        required=False, max_length=64, label="Visitor id", help_text=""
    )
    agent = forms.CharField(required=False, max_length=64, label="Agent id")


def parse_search(text: str) -> list[tuple[str, str]]:
    """Upscope's search string as (kind, value) tokens, for the local table:
    `online`, `-online`, `ip:…`, `id:…`, a lookup code (4 digits), `#TAG`,
    `integration_id:name:id`, an e-mail, else free text. Raises ValueError
    (in Upscope's terms) for a token Upscope's SDK could never have set."""
    out: list[tuple[str, str]] = []
    for token in text.split():
        low = token.lower()
        if low in ("online", "-online"):
            out.append((low, ""))
        elif low.startswith("ip:") and len(token) > 3:
            out.append(("ip", token[3:]))
        elif low.startswith("integration_id:"):
            rest = token[len("integration_id:") :]
            search_query(integration_ids=[rest])  # the SDK's format, or ValueError
            out.append(("integration", rest))
        elif low.startswith("id:") and len(token) > 3:
            out.append(("id", token[3:]))
        elif len(token) == 4 and token.isdigit():
            out.append(("code", token))
        elif token.startswith("#"):
            search_query(tags=[token])
            out.append(("tag", token))
        elif "@" in token:
            out.append(("email", token))
        else:
            out.append(("text", token))
    return out
