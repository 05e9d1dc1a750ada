"""Bad input in the JSON and number fields: a field error, never a 500 and never a
vendor call (`mocked` refuses any request that was not registered)."""

from __future__ import annotations

import pytest
from django import forms
from django.urls import reverse

from cobrowse_portal.core.formfields import MAX_JSON_DEPTH, parse_json_text
from vendors.surfly.models import SurflyCompanyOptions

DEEP = "[" * 5_000 + "]" * 5_000  # json.loads alone: RecursionError


def url(name, account):
    return reverse(f"surfly:{name}", args=[account.pk])


@pytest.fixture
def stored_options(account):
    return SurflyCompanyOptions.objects.create(
        account=account,
        external_id="company",
        options={
            "videochat": True,
            "theme_font_size": 14,
            "widget_key": 0,
            "language": "en",
            "cookie_transfer_urls": [],
        },
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEEP, f"at most {MAX_JSON_DEPTH} levels deep"),
        ('{"a": ' * 50 + "1" + "}" * 50, "levels deep"),
        ('{"zoom": NaN}', "not a number a vendor can read"),
        ('{"zoom": Infinity}', "not a number a vendor can read"),
        ('{"zoom": -Infinity}', "not a number a vendor can read"),
        ('{"zoom": 1e999}', "Numbers must be finite"),
        ('{"seats": 1' + "0" * 30 + "}", "too large"),
        ('{"x": "' + "a" * 30_000 + '"}', "under 20,000 characters"),
    ],
    ids=["recursion", "deep", "nan", "inf", "-inf", "float-overflow", "huge", "long"],
)
def test_other_options_json_is_bounded(personas, login, account, mocked, text, message):
    response = login(personas["agent"]).post(
        url("session_start", account),
        {"url": "https://shop.example.com/", "other_options": text},
    )
    assert response.status_code == 422
    errors = response.context["form"].errors["other_options"]
    assert any(message in e for e in errors), errors


def test_nested_json_within_bounds_and_brackets_in_strings_are_fine():
    assert parse_json_text('{"a": {"b": [1, 2, {"c": "[[[[[[[[[[[[["}]}}') == {
        "a": {"b": [1, 2, {"c": "[[[[[[[[[[[[["}]}
    }
    assert parse_json_text('{"q": "\\"{{{{{{{{{{{{"}') == {"q": '"{{{{{{{{{{{{'}
    with pytest.raises(forms.ValidationError):
        parse_json_text("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("theme_font_size", "-1", "greater than or equal to 6"),
        ("theme_font_size", "1000000000000000000000000000000", "less than or equal"),
        ("widget_key", "-1", "greater than or equal to 0"),
        ("widget_key", str(10**30), "less than or equal to 2147483647"),
        ("cookie_transfer_urls", DEEP, "levels deep"),
        ("cookie_transfer_urls", "[NaN]", "not a number a vendor can read"),
    ],
)
def test_company_options_are_bounded(
    personas, login, account, stored_options, mocked, field, value, message
):
    data = {
        "videochat": "on",
        "theme_font_size": "14",
        "widget_key": "0",
        "language": "en",
        "cookie_transfer_urls": "[]",
        field: value,
    }
    response = login(personas["manager"]).post(url("options", account), data)
    assert response.status_code == 422
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    assert "1e+30" not in response.content.decode()
    stored_options.refresh_from_db()
    assert stored_options.options["theme_font_size"] == 14


def test_a_body_that_cannot_be_encoded_is_refused_not_kept(settings):
    """If NaN ever reached a client call, nothing is sent: a permanent error (not
    "the vendor is not answering", which would keep the write for a retry)."""
    from cobrowse_portal.vendorkit.errors import PermanentVendorError
    from vendors.surfly.client import SurflyClient

    client = SurflyClient("https://surfly.example.com/v2/", {"api_key": "k" * 20})
    with pytest.raises(PermanentVendorError) as caught:
        client.update_options({"zoom": float("nan")})
    assert not caught.value.transient
    assert "not valid JSON" in caught.value.user_message()
    assert client.requests_made == 0
