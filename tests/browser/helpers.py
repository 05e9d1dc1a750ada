"""Steps every browser test takes."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def log_in(page, live_server, username: str) -> None:
    """Sign in through the login form and wait for the shell to show the user."""
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".topbar")).to_contain_text(username)
