"""Serviceform forms: the item form, built at runtime from a space's field
definitions, and the filters of the items, leads and chats lists and the
statistics range.

The item form has one form field per space field, named by the field's
`machine` name: Serviceform's 422 names fields the same way, so its messages
land next to the right field with no mapping (`VendorFormMixin`). The
primary field (`primary_field`, every item has one) comes first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from cobrowse_portal.core.vendorforms import VendorFormMixin
from cobrowse_portal.core.widgets import FastWidgetsMixin

from .client import stamp
from .schemas import SpaceField, as_time

PRIMARY = "primary_field"
#: Lengths the sandbox enforces for text and textarea values. Unknown
#: (vendor-apis.md §4.6): Serviceform's own limits; longer input is refused by
#: the vendor's 422 if it has one, so these only stop the obviously too long.
TEXT_MAX, TEXTAREA_MAX = 1000, 10000
DATETIME_INPUT = "%Y-%m-%dT%H:%M"


def _choices(field: SpaceField) -> list[tuple[str, str]]:
    return [(o.value, o.label or o.value) for o in field.options]


def form_field(field: SpaceField) -> forms.Field:
    """The Django form field of one space field (its type, options, required).

    A checkbox is never required here: a required checkbox would mean "must be
    ticked", and Serviceform's `required` on a checkbox is not documented."""
    common = {"label": field.label, "required": field.required}
    kind = field.type
    if kind == "textarea":
        return forms.CharField(
            max_length=TEXTAREA_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if kind == "number":
        return forms.DecimalField(**common)
    if kind == "date":
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **common,
        )
    if kind == "datetime":
        return forms.DateTimeField(
            input_formats=[DATETIME_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
            widget=forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format=DATETIME_INPUT
            ),
            **common,
        )
    if kind == "select":
        empty = [("", "—")] if not field.required else [("", "Choose…")]
        return forms.ChoiceField(choices=empty + _choices(field), **common)
    if kind == "multiselect":
        return forms.MultipleChoiceField(
            choices=_choices(field), widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == "checkbox":
        return forms.BooleanField(label=field.label, required=False)
    if kind == "email":
        return forms.EmailField(max_length=254, **common)
    if kind == "url":
        return forms.URLField(max_length=2000, assume_scheme="https", **common)
    if kind == "phone":
        return forms.CharField(
            max_length=64, widget=forms.TextInput(attrs={"type": "tel"}), **common
        )
    # text, and any type outside FIELD_TYPES (kept and edited as plain text)
    return forms.CharField(max_length=TEXT_MAX, **common)


def initial_value(field: SpaceField, value: Any) -> Any:
    """A stored (vendor) value as the form field's initial value."""
    if value is None:
        return None
    kind = field.type
    if kind == "datetime":
        at = as_time(value)
        return timezone.localtime(at).strftime(DATETIME_INPUT) if at else None
    if kind == "multiselect":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if kind == "checkbox":
        return value is True or str(value).lower() in ("true", "1", "yes")
    if isinstance(value, list | dict):
        return None
    return value


def vendor_value(field: SpaceField, value: Any) -> Any:
    """A cleaned form value as the JSON value Serviceform takes (None: empty)."""
    kind = field.type
    if kind == "checkbox":
        return bool(value)
    if value in (None, "", []):
        return None
    if kind == "number":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        return value.isoformat()
    if kind == "datetime":
        return stamp(value if value.tzinfo else timezone.make_aware(value))
    if kind == "multiselect":
        return list(value)
    return value.strip() if isinstance(value, str) else value


class ItemForm(VendorFormMixin, forms.Form):
    """An item of one space: the primary field, then one field per space field
    (required ones marked), initial values from `item` (a ServiceformItem)."""

    def __init__(self, space_fields: list[SpaceField], *args, item=None, **kwargs):
        self.space_fields = [f for f in space_fields if f.machine != PRIMARY]
        if item is not None and "initial" not in kwargs:
            stored = item.values or {}
            initial = {PRIMARY: item.primary_field}
            for f in self.space_fields:
                initial[f.machine] = initial_value(f, stored.get(f.machine))
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields[PRIMARY] = forms.CharField(
            label="Title (primary field)",
            max_length=500,
            help_text="The item's name in Serviceform's lists.",
        )
        for f in self.space_fields:
            self.fields[f.machine] = form_field(f)

    def clean_primary_field(self) -> str:
        text = self.cleaned_data[PRIMARY].strip()
        if not text:
            raise forms.ValidationError("This field is required.")
        return text

    def vendor_values(self, *, keep_empty: bool) -> dict[str, Any]:
        """Every space field's value as Serviceform takes it. `keep_empty`
        (an update) sends a cleared field as null, so it is cleared whether PUT
        replaces or merges; a create leaves empty fields out."""
        out: dict[str, Any] = {}
        for f in self.space_fields:
            value = vendor_value(f, self.cleaned_data.get(f.machine))
            if value is not None or keep_empty:
                out[f.machine] = value
        return out

    def field_rows(self):
        return [self[PRIMARY]] + [self[f.machine] for f in self.space_fields]


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand: Serviceform deletes this item, and this cannot be undone."
    )


# --- list filters -------------------------------------------------------------------
def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        required=False, label=label, widget=forms.DateInput(attrs={"type": "date"})
    )


def day_start(day: date) -> datetime:
    """Midnight (UTC) starting `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_end(day: date) -> datetime:
    """Midnight (UTC) after `day`: an "until" date includes that whole day
    (the last day there is: the end of time)."""
    if day >= date.max:
        return datetime.max.replace(tzinfo=UTC)
    return day_start(day) + timedelta(days=1)


class ItemFilterForm(FastWidgetsMixin, forms.Form):
    """Search (primary field and values), the updated range, and one filter per
    choice or checkbox field of the space (`f_<machine>`)."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    updated_from = _date_field("Updated from")
    updated_to = _date_field("Updated until")

    def __init__(self, space_fields: list[SpaceField], *args, **kwargs) -> None:
        self.choice_fields = [
            f for f in space_fields if f.is_choice or f.type == "checkbox"
        ]
        super().__init__(*args, **kwargs)
        for f in self.choice_fields:
            if f.type == "checkbox":
                choices = [("", "Any"), ("yes", "Yes"), ("no", "No")]
            else:
                choices = [("", "Any")] + _choices(f)
            self.fields[f"f_{f.machine}"] = forms.ChoiceField(
                required=False, label=f.label, choices=choices
            )

    def choice_filters(self) -> list[tuple[SpaceField, str]]:
        data = self.cleaned_data
        return [
            (f, data[f"f_{f.machine}"])
            for f in self.choice_fields
            if data.get(f"f_{f.machine}")
        ]


class LeadFilterForm(FastWidgetsMixin, forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        help_text="Name, e-mail or phone.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    form_name = forms.CharField(required=False, max_length=200, label="Form")
    source = forms.CharField(required=False, max_length=100, label="Source")
    since = _date_field("Created from")
    until = _date_field("Created until")


class ChatFilterForm(FastWidgetsMixin, forms.Form):
    kind = forms.ChoiceField(
        required=False,
        label="Answered by",
        choices=[("", "Anyone"), ("chatbot", "Chatbot only"), ("human", "A person")],
    )
    since = _date_field("From")
    until = _date_field("Until")
    agent = forms.CharField(
        required=False,
        max_length=200,
        label="Agent",
        help_text="The agent's name or Serviceform id.",
    )
    min_rating = forms.DecimalField(
        required=False, min_value=0, max_value=5, label="Rating at least"
    )
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Visitor",
        help_text="Name, e-mail, or visitor id.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )


#: The statistics page's default range and the longest it draws.
STATS_DAYS, STATS_MAX_DAYS = 30, 366


class StatsRangeForm(FastWidgetsMixin, forms.Form):
    since = _date_field("From")
    until = _date_field("To")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since > until:
                raise forms.ValidationError("“From” is after “To”.")
            if (until - since).days >= STATS_MAX_DAYS:
                raise forms.ValidationError(f"At most {STATS_MAX_DAYS} days at once.")
        return data

    def window(self, today: date) -> tuple[date, date]:
        """(first day, last day): the form's, else the last STATS_DAYS days."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        until = data.get("until") or today
        since = data.get("since") or _days_before(until, STATS_DAYS - 1)
        if (until - since).days >= STATS_MAX_DAYS:  # "From" alone, long ago
            since = _days_before(until, STATS_MAX_DAYS - 1)
        return since, until


def _days_before(day: date, days: int) -> date:
    return day - timedelta(days=min(days, (day - date.min).days))
