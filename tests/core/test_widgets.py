"""The template-free widgets write exactly what Django's widget templates write."""

from __future__ import annotations

from datetime import date

import pytest
from django import forms
from django.utils.safestring import mark_safe

from cobrowse_portal.core.models import VendorAccount, Workspace
from cobrowse_portal.core.views.control import ActivityFilterForm
from cobrowse_portal.core.views.control_usage import UsageFilterForm
from cobrowse_portal.core.widgets import (
    FastDateInput,
    FastNumberInput,
    FastSelect,
    FastTextInput,
    FastWidgetsMixin,
)
from tests.core.conftest import make_account
from vendors.surfly.forms import AgentFilterForm, HistoryFilterForm

NASTY = "a\"b'c<d>&e"
CHOICES = [
    ("", "Any"),
    (NASTY, NASTY),
    ("safe", mark_safe("<b>bold</b>")),
    (1, "one"),
    ("1", "one again"),
    (None, "none"),
]


def _form(fast: bool):
    """The same fields, with Django's widgets or the fast ones."""

    class Form(forms.Form):
        text = forms.CharField(
            max_length=10,
            widget=forms.TextInput(
                attrs={"placeholder": NASTY, "size": 6, "data-x": None}
            ),
        )
        search = forms.CharField(
            required=False,
            widget=forms.TextInput(
                attrs={"type": "search", "autofocus": True, "hidden": False}
            ),
        )
        day = forms.DateField(
            required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        number = forms.IntegerField(required=False, min_value=0, max_value=5)
        pick = forms.ChoiceField(required=False, choices=CHOICES)
        must = forms.ChoiceField(choices=[("", "Pick one"), ("x", "X")])
        account = forms.ModelChoiceField(
            queryset=VendorAccount.objects.order_by("pk"), required=False
        )

    if not fast:
        return Form

    class FastForm(FastWidgetsMixin, Form):
        pass

    return FastForm


DATA = [
    None,
    {},
    {"text": NASTY, "search": "<script>", "day": "2026-12-01", "number": "3"},
    {"text": "x" * 20, "day": "not a date", "number": "-1", "pick": NASTY},
    {"pick": "1", "must": "x", "number": "99"},
    {"pick": "safe", "must": "nope", "day": "9999-99-99"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("data", DATA)
def test_fast_widgets_write_what_django_writes(data):
    ws = Workspace.objects.create(name="W", slug="w")
    make_account(ws, "First <one>")
    make_account(ws, "Second")
    initial = {"day": date(2026, 1, 2), "text": "start", "pick": 1}
    slow, fast = _form(False)(data, initial=initial), _form(True)(data, initial=initial)
    if data is not None:
        assert slow.is_valid() == fast.is_valid()
    for name in slow.fields:
        assert str(fast[name]) == str(slow[name]), name
    # The fast form really uses the fast widgets (and Django's form does not).
    assert type(fast.fields["text"].widget) is FastTextInput
    assert type(fast.fields["day"].widget) is FastDateInput
    assert type(fast.fields["number"].widget) is FastNumberInput
    assert type(fast.fields["pick"].widget) is FastSelect
    assert type(slow.fields["pick"].widget) is forms.Select


def test_fast_select_falls_back_for_groups_and_multiple():
    grouped = [("", "Any"), ("Group <1>", [("a", "A"), ("b", "B")])]
    django_html = forms.Select(choices=grouped).render("x", "b", {"id": "i"})
    assert FastSelect(choices=grouped).render("x", "b", {"id": "i"}) == django_html

    class FastMultiple(FastSelect):
        allow_multiple_selected = True

    class DjangoMultiple(forms.Select):
        allow_multiple_selected = True

    values = ["1", NASTY]
    assert FastMultiple(choices=CHOICES).render("x", values) == DjangoMultiple(
        choices=CHOICES
    ).render("x", values)


def test_fast_select_without_choices():
    assert FastSelect().render("x", None) == forms.Select().render("x", None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda: ActivityFilterForm(
            {"q": NASTY, "agent": "7", "since": "2026-01-01", "min_minutes": "x"},
            accounts=[],
            agents=[(7, NASTY, "a@example.com"), (8, "", "b@example.com")],
        ),
        lambda: UsageFilterForm({"since": "2026-01-01", "period": "week"}),
        lambda: HistoryFilterForm({"pin": NASTY, "min_duration": "5"}),
        lambda: AgentFilterForm({"q": NASTY, "role": "admin"}),
    ],
)
def test_filter_forms_use_fast_widgets_with_djangos_html(make):
    form = make()
    form.is_valid()
    for name, field in form.fields.items():
        widget = field.widget
        assert type(widget) in (
            FastTextInput,
            FastNumberInput,
            FastDateInput,
            FastSelect,
        ), name
        fast_html = str(form[name])
        # The same widget instance through Django's own class (its template).
        fast_class = type(widget)
        widget.__class__ = next(c for c in fast_class.__mro__ if c in DJANGO_TWINS)
        try:
            assert fast_html == str(form[name]), name
        finally:
            widget.__class__ = fast_class


DJANGO_TWINS = (forms.TextInput, forms.NumberInput, forms.DateInput, forms.Select)
