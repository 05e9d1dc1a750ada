"""vendorkit.safeurl.safe_url: only explicit absolute http(s) URLs pass; and the
core template helpers built on it."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from cobrowse_portal.vendorkit.safeurl import safe_url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://surfly.test/f/1", "https://surfly.test/f/1"),
        ("http://surfly.test:8080/x?y=1#z", "http://surfly.test:8080/x?y=1#z"),
        ("HTTPS://Surfly.test/A", "HTTPS://Surfly.test/A"),
        ("  https://surfly.test/ \n", "https://surfly.test/"),  # trimmed
        ("https://bücher.example/ä", "https://bücher.example/ä"),
    ],
)
def test_http_urls_pass(value, expected):
    assert safe_url(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "\x01javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "javascript\t:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.com/",
        "//evil.example/path",  # protocol-relative: not explicit
        "/relative/path",
        "surfly.test/f/1",
        "http:evil.example",
        "https:/evil.example",
        "https:\\\\evil.example",
        "https://",
        "https://:443/",
        "https://host:99999/",
        "https://ho st/",
        "https://host/\u200bpath",  # zero-width space
        "https://host/\u2028",
        "https://host/\x00",
        "https://host/\x7f",
        "",
        None,
        42,
        ["https://host/"],
    ],
)
def test_everything_else_is_refused(value):
    assert safe_url(value) == ""


def render(source: str, **context) -> str:
    return Template("{% load portal %}" + source).render(Context(context))


def test_vendor_link_renders_a_link_and_copy_button_for_http():
    html = render(
        '{% vendor_link link label="open" copy=True %}', link="https://s.test/f?a=1&b=2"
    )
    assert 'href="https://s.test/f?a=1&amp;b=2"' in html
    assert 'data-copy="https://s.test/f?a=1&amp;b=2"' in html
    assert 'rel="noopener noreferrer"' in html and ">open</a>" in html


@pytest.mark.parametrize("value", ["javascript:alert(1)", 'java\tscript:"><b>x'])
def test_vendor_link_renders_anything_else_as_escaped_text(value):
    html = render("{% vendor_link link copy=True %}", link=value)
    assert "href" not in html and "data-copy" not in html and "<b>" not in html
    assert html.startswith("<span")


def test_vendor_link_shows_a_dash_when_empty():
    assert render("{% vendor_link link %}", link="") == "—"


def test_safe_href_filter():
    assert render("{{ v|safe_href }}", v="JaVaScRiPt:x") == ""
    assert render("{{ v|safe_href }}", v="https://s.test/") == "https://s.test/"
