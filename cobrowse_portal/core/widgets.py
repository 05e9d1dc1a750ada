"""Widgets rendered in Python, for filter forms that render on every request.

Django renders every widget through its template engine (a `<select>` once per
option): the Activity filters' dozen fields cost about as much as the page's
queries. These widgets write the same HTML as Django's own templates (the same
attributes in the same order, the same escaping; `tests/core/test_widgets.py`
compares them) without a template. `FastWidgetsMixin` puts them on a form.
"""

from __future__ import annotations

from html import escape

from django import forms
from django.utils.safestring import SafeString


def _text(value) -> str:
    """`{{ value|stringformat:'s' }}` with autoescape on: str(), then escaped
    unless already safe."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


def render_attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: False is left out, True is a bare name,
    anything else (None included) is `name="value"`."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {_text(name)}")
        else:
            out.append(f' {_text(name)}="{_text(value)}"')
    return "".join(out)


class FastInput:
    """django/forms/widgets/input.html, for any `forms.Input` subclass."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        shown = "" if value is None else f' value="{_text(value)}"'
        return SafeString(
            f'<input type="{_text(self.input_type)}" name="{_text(name)}"{shown}'
            f"{render_attrs(self.build_attrs(self.attrs, attrs))}>"
        )


class FastTextInput(FastInput, forms.TextInput):
    pass


class FastNumberInput(FastInput, forms.NumberInput):
    pass


class FastDateInput(FastInput, forms.DateInput):
    pass


class FastSelect(forms.Select):
    """A single `<select>` without option groups, rendered without templates
    (a select with groups or `multiple` falls back to Django's templates)."""

    def render(self, name, value, attrs=None, renderer=None):
        if self.allow_multiple_selected:
            return super().render(name, value, attrs, renderer)
        values = self.format_value(value)
        options = []
        selected = False
        for option_value, label in self.choices:
            if isinstance(label, (list, tuple)):  # an option group
                return super().render(name, value, attrs, renderer)
            if option_value is None:
                option_value = ""
            text = str(option_value)
            # As ChoiceWidget.optgroups: only the first match of a single select.
            mark = ""
            if not selected and text in values:
                selected, mark = True, " selected"
            options.append(
                f'\n  <option value="{_text(text)}"{mark}>{_text(label)}</option>\n'
            )
        return SafeString(
            f'<select name="{_text(name)}"'
            f"{render_attrs(self.build_attrs(self.attrs, attrs))}>"
            f"{''.join(options)}\n</select>"
        )


#: Django's widget → its template-free twin.
FAST = {
    forms.TextInput: FastTextInput,
    forms.NumberInput: FastNumberInput,
    forms.DateInput: FastDateInput,
    forms.Select: FastSelect,
}


class FastWidgetsMixin:
    """For filter forms: every text, number, date and select field renders
    through its fast twin (attributes kept; each form has its own field copies)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            fast = FAST.get(type(field.widget))
            if fast is not None:
                field.widget.__class__ = fast
