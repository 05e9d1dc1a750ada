"""Widgets rendered in Python, for filter forms that render on every request.

Django renders a `<select>` through its template engine once per option: the
Activity filters' agent list (one option per person) cost more than the page's
queries. `FastSelect` writes the same HTML directly.
"""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    """A single `<select>` without option groups, rendered without templates."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = (
            (
                option["value"],
                mark_safe(" selected") if option["selected"] else "",
                option["label"],
            )
            for _group, group_options, _index in widget["optgroups"]
            for option in group_options
        )
        return format_html(
            "<select{}>\n{}\n</select>",
            flatatt({"name": widget["name"], **widget["attrs"]}),
            format_html_join("\n", '<option value="{}"{}>{}</option>', options),
        )
