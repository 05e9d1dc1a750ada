"""Secrets are masked in text, log messages, arguments and tracebacks."""

from __future__ import annotations

import io
import logging

import pytest

from cobrowse_portal.vendorkit import redaction
from cobrowse_portal.vendorkit.redaction import (
    MASK,
    RedactingFilter,
    redact,
    register_secret,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwiYWNjb3VudCI6ImFjbWUifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch):
    monkeypatch.setattr(redaction, "_known", set())


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "GET https://surfly.com/v2/agents/?api_key=abc123def456&free=true",
            "abc123def456",
        ),
        ("https://x.test/v2/?free=1&api_key=k3y-with-dashes", "k3y-with-dashes"),
        ("?apikey=Zz9Yy8Xx7", "Zz9Yy8Xx7"),
        ("?access_token=tok.en_value", "tok.en_value"),
        ("url?client_secret=s3cr3tvalue&x=1", "s3cr3tvalue"),
        ('{"api_key": "json-style-secret"}', "json-style-secret"),
        ("sf-api-key: header-secret-1", "header-secret-1"),
        ("X-Api-Key: header-secret-2", "header-secret-2"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ("Authorization: Bearer abcdefghijklmnop.qrs", "abcdefghijklmnop.qrs"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f"token for the embed link is {JWT} ok", JWT),
    ],
)
def test_secret_shapes_are_masked_without_registration(text, secret):
    out = redact(text)
    assert secret not in out
    assert MASK in out


def test_registered_secrets_are_masked_anywhere():
    register_secret("plain-secret-value-42")
    assert redact("the key plain-secret-value-42 leaked") == f"the key {MASK} leaked"
    assert redact(b"raw bytes plain-secret-value-42".decode()) == f"raw bytes {MASK}"


def test_longer_secrets_win_over_their_prefixes():
    register_secret("abcdef")
    register_secret("abcdef-and-more")
    assert redact("x abcdef-and-more y") == f"x {MASK} y"


def test_short_or_empty_values_are_not_registered():
    register_secret("abc")  # masking 3 characters would mangle ordinary text
    register_secret("")
    register_secret(None)
    assert redaction._known == set()


def test_ordinary_text_is_untouched():
    text = "surfly answered 404: Agent was not found (tokens: 3, keys ok)"
    assert redact(text) == text
    assert redact("") == ""


def test_the_pattern_check_can_fail(monkeypatch):
    """Break the query-string pattern: the first case above would then leak."""
    import re

    monkeypatch.setattr(redaction, "_SECRET_PARAM", re.compile(r"(?!x)x"))
    assert "abc123def456" in redact("?api_key=abc123def456")


# --- the logging filter ---------------------------------------------------------------
@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_filter_masks_message_and_arguments(logged):
    logger, stream = logged
    register_secret("registered-arg-secret")
    logger.info(
        "calling %s with %s",
        "https://v.test/?api_key=inline-secret-1",
        {"key": "registered-arg-secret"},
    )
    out = stream.getvalue()
    assert "inline-secret-1" not in out and "registered-arg-secret" not in out
    assert "calling https://v.test/?api_key=" in out


def test_filter_masks_exception_tracebacks(logged):
    logger, stream = logged
    register_secret("traceback-secret-77")
    try:
        raise ValueError("while calling /agents/?api_key=traceback-secret-77")
    except ValueError:
        logger.exception("sync crashed")
    out = stream.getvalue()
    assert "Traceback (most recent call last)" in out and "ValueError" in out
    assert "traceback-secret-77" not in out


def test_filter_masks_chained_exceptions_and_stack_info(logged):
    logger, stream = logged
    try:
        try:
            raise KeyError("Bearer abcdefghijklmnopqrstuvwxyz")
        except KeyError as inner:
            raise RuntimeError("outer ?token=chained-secret-55") from inner
    except RuntimeError:
        logger.error("failed", exc_info=True, stack_info=True)
    out = stream.getvalue()
    assert "abcdefghijklmnopqrstuvwxyz" not in out
    assert "chained-secret-55" not in out
    assert "Stack (most recent call last)" in out


def test_filter_survives_a_bad_format_string(logged):
    logger, stream = logged
    logger.warning("broken %s %s ?api_key=fmt-secret-1", "only one")
    out = stream.getvalue()
    assert "fmt-secret-1" not in out and "broken" in out


def test_project_logging_config_uses_the_filter():
    from django.conf import settings

    console = settings.LOGGING["handlers"]["console"]
    assert "redact" in console["filters"]
    assert settings.LOGGING["filters"]["redact"]["()"].endswith("RedactingFilter")
    assert "console" in settings.LOGGING["root"]["handlers"]
