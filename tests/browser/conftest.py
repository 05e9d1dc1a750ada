"""Fixtures every browser test shares (Chromium itself: tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def browser_errors(page):
    """Console errors, CSP violations and failed requests seen by the page (a test
    asserts there are none)."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: (
            seen.append(f"{m.text} {m.location.get('url', '')}")
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    page.on(
        "response",
        lambda r: seen.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return seen
