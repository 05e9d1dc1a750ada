"""SameSurf forms: starting and scheduling rooms (with every option SameSurf
takes), limited-use tokens, recordings and reseller subscriptions.

Repeated rows (bookmarks, session cookies, session storage, configuration
overrides) are a fixed number of numbered rows (`bookmark_0_name`, …): a blank
row is skipped, a half-filled one is an error on the row, and every value typed
comes back on a re-render, so nothing is lost when SameSurf refuses.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import cache

from django import forms
from django.utils import timezone

from cobrowse_portal.core.vendorforms import VendorFormMixin
from cobrowse_portal.core.widgets import FastSelect

from .schemas import FEATURES, OVERRIDE_KEYS

MAX_INT = 2**31 - 1
FEATURE_LABELS = {
    "MODE_DOCUMENT_SHARE": "Document sharing",
    "MODE_VIDEO_SHARE": "Video sharing",
    "MODE_SCREEN_SHARE": "Screen sharing",
    "MODE_LOGOUT": "Log out",
    "TOOLS_SCREEN_RECORDING": "Screen recording",
    "TOOLS_VIDEO_CHAT": "Video chat",
    "TOOLS_AUDIO_CHAT": "Audio chat",
    "TOOLS_12MANY_VIDEO": "One-to-many video",
    "TOOLS_MOUSE_TRACKING": "Mouse tracking",
    "TOOLS_DISCONNECT_USER": "Disconnecting a user",
}
FEATURE_CHOICES = [(f, FEATURE_LABELS.get(f, f)) for f in FEATURES]


@cache
def zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone this machine knows, UTC first (SameSurf wants IANA names)."""
    names = sorted(n for n in zoneinfo.available_timezones() if "/" in n)
    return [("", "UTC"), *[(n, n.replace("_", " ")) for n in names]]


class RowsMixin:
    """Numbered row groups: `rows = {"bookmark": (("name", field), ...)}`, each
    group shown `row_counts[group]` times (more when more were posted)."""

    rows: dict[str, tuple[tuple[str, forms.Field], ...]] = {}
    row_counts: dict[str, int] = {}
    #: Row fields that may stay empty in a filled row.
    optional_row_fields: frozenset[str] = frozenset()

    def _add_rows(self, data) -> None:
        for group, columns in self.rows.items():
            count = self.row_counts.get(group, 2)
            if data:
                # Keep every row the user sent (a re-render loses none).
                while any(
                    f"{group}_{count}_{name}" in data for name, _field in columns
                ):
                    count += 1
            for i in range(count):
                for name, template in columns:
                    field = template.__class__(**_field_kwargs(template))
                    field.required = False
                    self.fields[f"{group}_{i}_{name}"] = field
            setattr(self, f"_{group}_count", count)

    def row_groups(self, group: str) -> list[list]:
        """Bound fields by row, for templates."""
        columns = self.rows[group]
        return [
            [self[f"{group}_{i}_{name}"] for name, _f in columns]
            for i in range(getattr(self, f"_{group}_count", 0))
        ]

    @property
    def row_sets(self) -> dict[str, list[list]]:
        """{group: rows of bound fields}, for templates."""
        return {group: self.row_groups(group) for group in self.rows}

    def clean_rows(self, group: str) -> list[dict]:
        out = []
        for i in range(getattr(self, f"_{group}_count", 0)):
            values = {
                name: self.cleaned_data.get(f"{group}_{i}_{name}")
                for name, _f in self.rows[group]
            }
            filled = {k: v for k, v in values.items() if v not in (None, "", False)}
            if not filled:
                continue
            for name, value in values.items():
                if value in (None, "") and name not in self.optional_row_fields:
                    self.add_error(
                        f"{group}_{i}_{name}", "Fill this in, or clear the row."
                    )
            out.append(values)
        return out


def _field_kwargs(template: forms.Field) -> dict:
    kwargs = {
        "label": template.label,
        "widget": template.widget.__class__(attrs=dict(template.widget.attrs)),
    }
    for attr in ("max_length",):
        if getattr(template, attr, None) is not None:
            kwargs[attr] = getattr(template, attr)
    return kwargs


ROOM_ROWS = {
    "bookmark": (
        ("name", forms.CharField(label="Bookmark name", max_length=200)),
        ("link", forms.URLField(label="Link", max_length=1000)),
    ),
    "cookie": (
        ("domain", forms.CharField(label="Domain", max_length=253)),
        ("path", forms.CharField(label="Path", max_length=500)),
        ("name", forms.CharField(label="Name", max_length=200)),
        ("value", forms.CharField(label="Value", max_length=4000)),
        ("secure", forms.BooleanField(label="Secure")),
        ("httponly", forms.BooleanField(label="HTTP only")),
    ),
    "storage": (
        ("domain", forms.CharField(label="Domain", max_length=253)),
        ("name", forms.CharField(label="Name", max_length=200)),
        ("value", forms.CharField(label="Value", max_length=4000)),
    ),
}


class RoomOptionsForm(RowsMixin, VendorFormMixin, forms.Form):
    """What `create` takes for any room: start URL, title, bookmarks, session
    cookies and storage, disabled features."""

    vendor_fields = {
        "starturl": "start_url",
        "eventtime": "event_time",
        "lengthinminutes": "length_minutes",
        "invitemessage": "invite_message",
    }
    rows = ROOM_ROWS
    row_counts = {"bookmark": 2, "cookie": 1, "storage": 1}
    # A cookie's path defaults to "/" (the client sends it so).
    optional_row_fields = frozenset({"path", "secure", "httponly"})

    # Optional here: SameSurf says when it needs one (errorcode 105, next to it).
    start_url = forms.URLField(
        required=False,
        max_length=1000,
        label="Start URL",
        assume_scheme="https",
        help_text="The first page shown in the room.",
    )
    title = forms.CharField(
        required=False,
        max_length=300,
        help_text="Shown in SameSurf's analytics and the room history.",
    )
    disabled_features = forms.MultipleChoiceField(
        required=False,
        choices=FEATURE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Disable in this room",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_rows(self.data if self.is_bound else None)

    def clean(self):
        data = super().clean()
        data["bookmarks"] = self.clean_rows("bookmark")
        data["cookies"] = [
            {
                **c,
                "path": c["path"] or "/",
                "secure": bool(c["secure"]),
                "httponly": bool(c["httponly"]),
            }
            for c in self.clean_rows("cookie")
        ]
        data["storage"] = self.clean_rows("storage")
        return data

    def room_options(self) -> dict:
        data = self.cleaned_data
        return {
            "starturl": data.get("start_url") or None,
            "title": data.get("title") or None,
            "bookmarks": data["bookmarks"],
            "cookies": data["cookies"],
            "storage": data["storage"],
            "disabled_features": data.get("disabled_features") or [],
        }


class RoomStartForm(RoomOptionsForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SameSurf would open a room on its own default page without one; asked
        # here so a stray POST (no field of this form) starts no room.
        self.fields["start_url"].required = True


class ScheduleForm(RoomOptionsForm):
    """A room for later: `create` with `eventtime` and the scheduling fields."""

    event_time = forms.DateTimeField(
        label="Event time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Wall time in the time zone below.",
    )
    # ~600 IANA zones: rendered without a template per option (core.widgets).
    timezone = forms.ChoiceField(required=False, label="Time zone", widget=FastSelect)
    length_minutes = forms.IntegerField(
        required=False,
        label="Length (minutes)",
        max_value=MAX_INT,
        # No min_value: SameSurf's own refusal (errorcode 123) is shown here.
    )
    invitees = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E-mail addresses, separated by commas; each is sent an invitation.",
    )
    invite_message = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Invitation message",
    )

    field_order = [
        "event_time",
        "timezone",
        "length_minutes",
        "invitees",
        "invite_message",
        "start_url",
        "title",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = zone_choices()

    def event_at(self) -> datetime:
        """The event time as an aware datetime in the chosen zone (UTC without)."""
        data = self.cleaned_data
        wall = data["event_time"]
        if timezone.is_aware(wall):
            wall = timezone.make_naive(wall, timezone.get_current_timezone())
        zone = zoneinfo.ZoneInfo(data["timezone"]) if data.get("timezone") else UTC
        return wall.replace(tzinfo=zone)

    def schedule_options(self) -> dict:
        data = self.cleaned_data
        invitees = [i.strip() for i in (data.get("invitees") or "").split(",")]
        return {
            **self.room_options(),
            "event_time": self.event_at(),
            "timezone": data.get("timezone") or None,
            "length_minutes": data.get("length_minutes"),
            "invitees": [i for i in invitees if i],
            "invite_message": data.get("invite_message") or None,
        }


class TokenForm(VendorFormMixin, forms.Form):
    vendor_fields = {"usagelimit": "usage_limit", "usersname": "users_name"}

    # No min_value: SameSurf's refusal (errorcode 125) is shown next to it.
    usage_limit = forms.IntegerField(
        label="Usage limit",
        initial=1,
        max_value=MAX_INT,
        help_text="How many times the link may be used.",
    )
    is_leader = forms.BooleanField(
        required=False,
        label="Leader",
        help_text="The first person to open it leads the room.",
    )
    users_name = forms.CharField(
        required=False,
        max_length=200,
        label="User's name",
        help_text="Set as the person's name when they enter.",
    )


class RecordingForm(forms.Form):
    valid_for = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=24 * 60,
        initial=60,
        label="Valid for (minutes)",
    )


OVERRIDE_CHOICES = [("", "—"), *[(k, k.replace("_", " ")) for k in OVERRIDE_KEYS]]


class SubscriptionForm(RowsMixin, VendorFormMixin, forms.Form):
    """`reseller/createsubscription`, and whether to make the client workspace."""

    vendor_fields = {
        "licensecount": "license_count",
        "disabledfeatures": "disabled_features",
    }
    rows = {
        "override": (
            ("key", forms.ChoiceField(label="Setting")),
            ("value", forms.CharField(label="Value", max_length=1000)),
        ),
        "bookmark": ROOM_ROWS["bookmark"],
    }
    row_counts = {"override": 2, "bookmark": 1}

    # Not required here: SameSurf's errorcode 115 is shown next to it.
    name = forms.CharField(
        required=False, max_length=200, help_text="Unique at SameSurf."
    )
    # No min_value: SameSurf's refusal (errorcode 124) is shown next to it.
    license_count = forms.IntegerField(label="Licences", max_value=MAX_INT, initial=1)
    disabled_features = forms.MultipleChoiceField(
        required=False,
        choices=FEATURE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Disable for the subscription",
    )
    create_workspace = forms.BooleanField(
        required=False,
        initial=True,
        label="Create the client workspace",
        help_text="A client workspace with a SameSurf account whose new API key "
        "and secret are stored encrypted (never shown).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_rows(self.data if self.is_bound else None)
        for name in self.fields:
            if name.startswith("override_") and name.endswith("_key"):
                self.fields[name] = forms.ChoiceField(
                    required=False, choices=OVERRIDE_CHOICES, label="Setting"
                )

    def clean(self):
        data = super().clean()
        data["overrides"] = [
            {"key": o["key"], "value": o["value"]} for o in self.clean_rows("override")
        ]
        data["bookmarks"] = self.clean_rows("bookmark")
        return data


class SubscriptionDeleteForm(forms.Form):
    workspace = forms.ChoiceField(
        choices=[("archive", "Archive its workspace"), ("keep", "Keep its workspace")],
        initial="archive",
        widget=forms.RadioSelect,
        required=False,
    )


class HistoryFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Title or room",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    with_recordings = forms.BooleanField(required=False, label="With recordings")
