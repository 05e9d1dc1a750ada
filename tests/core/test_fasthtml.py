"""The control pages' row formatters give what Django's html helpers give."""

from __future__ import annotations

import pytest
from django.utils import html as django_html
from django.utils.functional import lazy
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from cobrowse_portal.core import fasthtml


class HasHtml:
    def __html__(self):
        return "<i>own</i>"


lazy_text = lazy(lambda: "<lazy & 'text'>", str)()
VALUES = [
    "plain",
    "a\"b'c<d>&e",
    mark_safe("<b>safe</b>"),
    HasHtml(),
    lazy_text,
    None,
    0,
    12.5,
    "",
    "é",
]


@pytest.mark.parametrize("value", VALUES)
def test_format_html_escapes_as_django_does(value):
    fmt = '<td title="{}">{}</td>'
    got = fasthtml.format_html(fmt, value, value)
    assert got == django_html.format_html(fmt, value, value)
    assert isinstance(got, SafeString)
    assert fasthtml.format_html("<p>{x}</p>", x=value) == django_html.format_html(
        "<p>{x}</p>", x=value
    )


def test_format_html_join_as_django_does():
    rows = [(v, "<sep>") for v in VALUES]
    for sep in ("", " <br> ", mark_safe("<br>")):
        got = fasthtml.format_html_join(sep, "<li>{}{}</li>", rows)
        assert got == django_html.format_html_join(sep, "<li>{}{}</li>", rows)
        assert isinstance(got, SafeString)
    mappings = [{"a": v} for v in VALUES]
    assert fasthtml.format_html_join(
        "", "<li>{a}</li>", mappings
    ) == django_html.format_html_join("", "<li>{a}</li>", mappings)


@pytest.mark.parametrize(
    "text",
    ["", "short", "x" * 60, "x" * 61, "e\u0301" * 40, "e\u0301" * 70, None, 5],
)
def test_clip_is_truncator_chars(text):
    assert fasthtml.clip(text, 60) == Truncator(text).chars(60)
