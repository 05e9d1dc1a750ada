"""The item form generated from a space's field definitions: one form field per
Serviceform field type, required fields marked, initial values from a stored
item, JSON values out, and Serviceform's per-field messages placed next to the
field they name."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django import forms

from cobrowse_portal.vendorkit import errors
from vendors.serviceform.forms import (
    ItemFilterForm,
    ItemForm,
    StatsRangeForm,
    form_field,
    vendor_value,
)
from vendors.serviceform.models import ServiceformItem, field_defs
from vendors.serviceform.sandbox.seed import REQUEST_FIELDS, _fields
from vendors.serviceform.schemas import FIELD_TYPES


def _defs():
    import random

    return field_defs(_fields(random.Random(1), REQUEST_FIELDS))


EXPECTED = {
    "text": forms.CharField,
    "textarea": forms.CharField,
    "number": forms.DecimalField,
    "date": forms.DateField,
    "datetime": forms.DateTimeField,
    "select": forms.ChoiceField,
    "multiselect": forms.MultipleChoiceField,
    "checkbox": forms.BooleanField,
    "email": forms.EmailField,
    "phone": forms.CharField,
    "url": forms.URLField,
}


def test_every_field_type_has_its_form_field():
    defs = _defs()
    assert {d.type for d in defs} == set(FIELD_TYPES)
    form = ItemForm(defs)
    for d in defs:
        assert type(form.fields[d.machine]) is EXPECTED[d.type], d.type
    assert isinstance(form.fields["notes"].widget, forms.Textarea)
    assert form.fields["contact_phone"].widget.input_type == "tel"
    assert form.fields["due_date"].widget.input_type == "date"
    assert form.fields["appointment"].widget.input_type == "datetime-local"
    assert isinstance(form.fields["services"].widget, forms.CheckboxSelectMultiple)
    # Choices are the field's options, values as Serviceform stores them.
    assert [c[0] for c in form.fields["status"].choices] == [
        "",
        "new",
        "in_progress",
        "done",
    ]
    assert [c[0] for c in form.fields["services"].choices] == [
        "installation",
        "repair",
        "maintenance",
    ]
    assert list(form.fields)[0] == "primary_field"


def test_required_fields_are_required_and_marked():
    form = ItemForm(_defs())
    required = {name for name, f in form.fields.items() if f.required}
    assert required == {"primary_field", "customer", "status"}
    html = form.as_div()
    assert "required" in str(form["customer"])
    assert "required" not in str(form["notes"])
    assert html  # renders
    # An unknown type is edited as text.
    d = field_defs([{"machine": "x", "name": "X", "type": "signature"}])[0]
    assert type(form_field(d)) is forms.CharField


def test_clean_input_becomes_serviceform_json_values():
    form = ItemForm(
        _defs(),
        {
            "primary_field": " Boiler ",
            "customer": "Ada",
            "status": "done",
            "services": ["repair", "maintenance"],
            "budget": "12.50",
            "due_date": "2026-12-24",
            "appointment": "2026-12-24T09:30",
            "urgent": "on",
            "contact_email": "ada@example.com",
            "website": "example.com",
        },
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["primary_field"] == "Boiler"
    values = form.vendor_values(keep_empty=False)
    assert values["budget"] == 12.5 and values["due_date"] == "2026-12-24"
    assert values["services"] == ["repair", "maintenance"]
    assert values["urgent"] is True and values["website"] == "https://example.com"
    assert values["appointment"].endswith("Z")
    assert "notes" not in values and "contact_phone" not in values
    every = form.vendor_values(keep_empty=True)
    assert every["notes"] is None and set(every) == {d.machine for d in _defs()}
    d = next(x for x in _defs() if x.type == "number")
    assert vendor_value(d, 3) == 3 and isinstance(vendor_value(d, 3), int)


def test_bad_input_is_refused_next_to_the_field():
    form = ItemForm(
        _defs(), {"primary_field": "", "status": "bogus", "contact_email": "x"}
    )
    assert not form.is_valid()
    assert set(form.errors) >= {"primary_field", "customer", "status", "contact_email"}


def test_an_item_fills_the_form():
    item = ServiceformItem(
        primary_field="Job",
        values={
            "customer": "Ada",
            "services": ["repair"],
            "urgent": True,
            "appointment": "2026-12-24T09:30:00.000Z",
            "due_date": "2026-12-24",
        },
    )
    form = ItemForm(_defs(), item=item)
    assert form["primary_field"].value() == "Job"
    assert form["services"].value() == ["repair"]
    assert form["urgent"].value() is True
    assert form["appointment"].value().startswith("2026-12-24T")
    assert form["due_date"].value() == "2026-12-24"


def test_serviceform_messages_land_next_to_their_fields():
    form = ItemForm(
        _defs(),
        {"primary_field": "Job", "customer": "A", "status": "new"},
        vendor_label="Serviceform",
    )
    assert form.is_valid()
    form.add_vendor_error(
        errors.PermanentVendorError(
            "Validation failed",
            status=422,
            field_errors={
                "status": ["Not one of the options."],
                "nope": ["Unknown field."],
            },
        )
    )
    assert form.errors["status"] == ["Not one of the options."]
    assert "nope: Unknown field." in form.non_field_errors()[0]


def test_the_filters_offer_each_choice_field():
    form = ItemFilterForm(_defs(), {"f_status": "done", "f_urgent": "yes"})
    assert form.is_valid()
    assert [(f.machine, v) for f, v in form.choice_filters()] == [
        ("status", "done"),
        ("urgent", "yes"),
    ]
    assert "f_services" in form.fields and "f_customer" not in form.fields


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, (date(2026, 11, 3), date(2026, 12, 2))),
        (
            {"since": "2026-11-01", "until": "2026-11-10"},
            (date(2026, 11, 1), date(2026, 11, 10)),
        ),
        (
            {"since": "2026-11-10", "until": "2026-11-01"},
            (date(2026, 11, 3), date(2026, 12, 2)),
        ),
    ],
)
def test_the_statistics_range(data, expected):
    form = StatsRangeForm(data or None)
    assert form.window(datetime(2026, 12, 2, tzinfo=UTC).date()) == expected


def test_ranges_at_the_ends_of_the_calendar():
    from vendors.serviceform.forms import day_end

    assert day_end(date.max).year == 9999
    form = StatsRangeForm({"since": "0001-01-01"})
    since, until = form.window(date(2026, 12, 2))
    assert (until - since).days == 365
    assert StatsRangeForm({"until": "0001-01-05"}).window(date(2026, 12, 2)) == (
        date(1, 1, 1),
        date(1, 1, 5),
    )
