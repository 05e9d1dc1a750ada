"""A faked Surfly API for service, view and sync tests: `responses` answers at the
spec's exact paths, with the account's `api_key` in the query string.

The `mocked` fixture (conftest) is the `responses` mock; `on()` registers one call.
"""

from __future__ import annotations

from responses import matchers

from cobrowse_portal.core.models import VendorAccount

BASE = "https://surfly.test/v2"
KEY = "surfly-test-rest-key-0001"

#: Surfly's answer for agent 42 (the `agent` fixture's row).
AGENT = {
    "agent_id": 42,
    "agent_name": "Alice",
    "agent_email": "alice@example.com",
    "last_login": "2024-05-01T10:00:00Z",
    "role": "agent",
    "available": True,
}


def on(mocked, method, path, *, params=None, body=None, **kwargs):
    """Register one Surfly call: exact path, `api_key` (plus `params`) in the query,
    and with `body` exactly that JSON body."""
    match = [matchers.query_param_matcher({"api_key": KEY, **(params or {})})]
    if body is not None:
        match.append(matchers.json_params_matcher(body))
    return mocked.add(method, f"{BASE}/{path}", match=match, **kwargs)


def make_account(workspace, name: str = "Main") -> VendorAccount:
    """A Surfly account of `workspace` pointing at the faked API."""
    account = VendorAccount(
        workspace=workspace, vendor="surfly", name=name, base_url=BASE
    )
    account.set_credentials({"api_key": KEY})
    account.save()
    return account


# --- webhooks ---------------------------------------------------------------------
def webhook(hook_id: int, url: str, category: str, **extra) -> dict:
    """Surfly's view of one webhook."""
    return {
        "id": hook_id,
        "url": url,
        "category": category,
        "enabled": True,
        "ssl_verification": True,
        "company_id": 3,
        **extra,
    }


def webhook_listing(*hooks: dict) -> dict:
    """One page of GET /webhooks/ (DRF-style)."""
    return {"count": len(hooks), "next": None, "previous": None, "results": list(hooks)}


def expect_webhook_create(mocked, url: str, hook_id: int, category: str, **answer):
    """POST /webhooks/ for `category` at `url` with exactly the body the portal
    sends; Surfly answers 201 with the webhook unless `answer` says otherwise."""
    body = {"url": url, "category": category, "enabled": True, "ssl_verification": True}
    answer = {"status": 201, "json": webhook(hook_id, url, category)} | answer
    on(mocked, "POST", "webhooks/", body=body, **answer)


# --- reseller clients -------------------------------------------------------------
def expect_client_sessions(
    mocked, client_key: str, session_id: str, *, active_only: bool = True
):
    """GET /sessions/?clientkey=…&active_session=true: one live session (without
    `active_only`, no `active_session` at all: every session)."""
    params = {"clientkey": client_key}
    if active_only:
        params["active_session"] = "true"
    on(
        mocked,
        "GET",
        "sessions/",
        params=params,
        json=[
            {
                "session_id": session_id,
                "agent_id": "9",
                "follower_link": f"https://f.test/{session_id}",
                "start_time": "2024-05-01T10:00:00Z",
                "duration": None,
            }
        ],
    )
