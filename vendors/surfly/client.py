"""Surfly REST API v2 client: one method per documented operation (32 in all).

Contract: shared/vendor-specs/surfly-openapi.yaml and https://docs.surfly.com/rest.html.
The key travels as the `api_key` query parameter (redacted everywhere), every path
but `/servers` ends in a slash, reseller calls use the literal `/clients/all/`,
history pages with `next`/`previous` links, and Surfly allows 100 requests per
minute per IP, shared through the vendorkit token bucket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cobrowse_portal.vendorkit.client import BaseVendorClient
from cobrowse_portal.vendorkit.errors import MalformedResponse
from cobrowse_portal.vendorkit.pagination import NextUrlPagination, Page

from .schemas import AccessToken, Agent, Client, Server, SessionInfo, Webhook

SCREENSHOT_STATES = {"GENERATION-STARTED", "ALREADY-RUNNING", "FAILED-INTERNALLY"}
# The spec's example body for a screenshot: 1024 px wide, one every 30 s.
SCREENSHOT_SIZE, SCREENSHOT_INTERVAL = 1024, 30


def _flag(value: bool | None) -> str | None:
    # Surfly's examples write booleans in queries as lower-case words.
    return None if value is None else ("true" if value else "false")


def _tags(tags) -> str | None:
    if not tags:
        return None
    return tags if isinstance(tags, str) else ",".join(tags)


def _agent_id(value: str | int | None) -> int | str | None:
    """The spec types `agent_id` as an integer; local rows keep it as text.
    Anything that is not a whole number (e.g. the filter word `null`) is sent
    as given, for Surfly to judge."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _list(body: Any, what: str) -> list:
    if isinstance(body, list):
        return body
    # Not documented, but tolerate a paged envelope on plain listings.
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    raise MalformedResponse(f"Surfly {what}: expected a list")


def _obj(body: Any, what: str) -> dict:
    if isinstance(body, dict):
        return body
    raise MalformedResponse(f"Surfly {what}: expected an object")


class SurflyClient(BaseVendorClient):
    vendor = "surfly"
    rate_limit = "100/m"
    auth_params = ("api_key",)
    history_pager = NextUrlPagination()
    webhook_pager = NextUrlPagination()

    def authenticate(self, params: dict, headers: dict) -> None:
        params["api_key"] = self.credentials.get("api_key", "")

    def parse_error(self, response):
        """Surfly documents `{"errors": {field: [messages]}}`; other bodies are
        undocumented, so DRF's `{"detail": ...}` is read too. A body that is not
        JSON is never shown (it may be anything: an HTML page, a proxy's text)."""
        try:
            body = response.json()
        except ValueError:
            return None, None, {}
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, dict):
                fields = {
                    str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
                    for k, v in errors.items()
                }
                message = "; ".join(" ".join(v) for v in fields.values())
                return None, message or None, fields
            for key in ("detail", "message", "error", "response"):
                if body.get(key):
                    return body.get("code"), str(body[key]), {}
        return None, None, {}

    def check_connection(self) -> str:
        options = self.get_options()
        return f"REST key accepted ({len(options)} company options readable)"

    # --- agents ---------------------------------------------
    def list_agents(self, free: bool | None = None) -> list[Agent]:
        """GET /agents/ (optionally only agents free to take a call)."""
        body = self.get_json("agents/", params={"free": _flag(free)})
        return [Agent.parse(a) for a in _list(body, "agents")]

    def create_agent(
        self, username: str, agent_email: str, password: str, role: str = "agent"
    ) -> str:
        """POST /agents/; returns the new agent's id."""
        body = self.request_json(
            "POST",
            "agents/",
            json={
                "username": username,
                "agent_email": agent_email,
                "password": password,
                "role": role,
            },
        )
        return str(_obj(body, "create agent").get("agent_id"))

    def get_agent(self, agent_id: str | int) -> Agent:
        """GET /agents/{id}/"""
        return Agent.parse(_obj(self.get_json(f"agents/{agent_id}/"), "agent"))

    def update_agent(
        self,
        agent_id: str | int,
        username: str,
        available: bool,
        role: str | None = None,
    ) -> Agent:
        """PUT /agents/{id}/ (`username` and `available` are required)."""
        payload = {"username": username, "available": available}
        if role:
            payload["role"] = role
        body = self.request_json("PUT", f"agents/{agent_id}/", json=payload)
        return Agent.parse(_obj(body, "update agent"))

    def delete_agent(self, agent_id: str | int) -> str:
        """DELETE /agents/{id}/; returns Surfly's confirmation sentence."""
        body = self.request_json("DELETE", f"agents/{agent_id}/")
        return str((body or {}).get("response", "")) if isinstance(body, dict) else ""

    def agent_access_token(
        self,
        agent_id: str | int | None = None,
        *,
        email: str | None = None,
        name: str | None = None,
        role: str | None = None,
        force_new: bool = False,
    ) -> AccessToken:
        """POST /agents/access-token/: a 24 h token for Embed API links.

        Without `force_new` Surfly returns the current token unless it expires
        within 5 minutes; `force_new` invalidates the previous one.
        """
        payload: dict[str, Any] = {}
        if agent_id not in (None, ""):
            payload["agent_id"] = _agent_id(agent_id)
        else:
            # Without agent_id the spec requires both; a nameless user is
            # named after the e-mail's local part (never `"name": null`).
            payload["email"] = email
            payload["name"] = name or (email or "").split("@")[0] or email
        if role:
            payload["role"] = role
        if force_new:
            payload["force_new"] = True
        body = self.request_json("POST", "agents/access-token/", json=payload)
        return AccessToken.parse(_obj(body, "access token"))

    # --- sessions ---------------------------------------------
    def list_sessions(self) -> list[SessionInfo]:
        """GET /sessions/ (no pagination documented)."""
        return [
            SessionInfo.parse(s) for s in _list(self.get_json("sessions/"), "sessions")
        ]

    def create_session(
        self,
        url: str,
        *,
        tags: list[str] | None = None,
        agent_id: str | int | None = None,
        skip_queue: bool | None = None,
        **options: Any,
    ) -> SessionInfo:
        """POST /sessions/: start a co-browse; the answer carries `leader_link`
        (valid for 2 minutes) and `follower_link`. Any session option may be set."""
        payload: dict[str, Any] = {"url": url, **options}
        if tags:
            payload["tags"] = list(tags)
        if agent_id not in (None, ""):
            payload["agent_id"] = _agent_id(agent_id)
        if skip_queue is not None:
            payload["skip_queue"] = skip_queue
        body = self.request_json("POST", "sessions/", json=payload)
        return SessionInfo.parse(_obj(body, "create session"))

    def filter_sessions(
        self,
        *,
        active_session: bool | None = None,
        agent_id: str | int | None = None,
        year: int | None = None,
        month: int | None = None,
        pin: str | None = None,
        tags: list[str] | str | None = None,
    ) -> list[SessionInfo]:
        """GET /sessions/ with filters (PINs are unique among active sessions only)."""
        params = {
            "active_session": _flag(active_session),
            "agent_id": _agent_id(agent_id),
            "year": year,
            "month": month,
            "pin": pin,
            "tags": _tags(tags),
        }
        body = self.get_json("sessions/", params=params)
        return [SessionInfo.parse(s) for s in _list(body, "sessions")]

    def get_session(self, session_id: str) -> SessionInfo:
        """GET /sessions/{id}/ (raw id or formatted `123-123-123`)."""
        return SessionInfo.parse(
            _obj(self.get_json(f"sessions/{session_id}/"), "session")
        )

    def end_session(self, session_id: str) -> SessionInfo:
        """POST /sessions/{id}/end/"""
        body = self.request_json("POST", f"sessions/{session_id}/end/")
        return SessionInfo.parse(_obj(body, "end session"))

    # --- company options ---------------------------------------------
    def get_options(self) -> dict[str, Any]:
        """GET /company/options/ (plan limits already applied)."""
        return _obj(self.get_json("company/options/"), "options")

    def replace_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """POST /company/options/: any option left out is reset to its default."""
        body = self.request_json("POST", "company/options/", json=options)
        return _obj(body, "options")

    def update_options(self, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH /company/options/: only the given options change."""
        body = self.request_json("PATCH", "company/options/", json=changes)
        return _obj(body, "options")

    def reset_options(self) -> None:
        """DELETE /company/options/: every option back to its default."""
        self.request("DELETE", "company/options/")

    # --- screenshots ---------------------------------------------
    def latest_screenshot(self, session_id: str) -> str | None:
        """GET /sessions/{id}/screenshots/latest/: the URL of the newest image.

        Surfly keeps producing screenshots only while this is polled."""
        body = self.get_json(f"sessions/{session_id}/screenshots/latest/")
        return _obj(body, "screenshot").get("url") if body else None

    def create_screenshot(
        self, session_id: str, size: int | None = None, interval: int | None = None
    ) -> str:
        """POST /sessions/{id}/screenshots/create/: answers text/plain
        GENERATION-STARTED, ALREADY-RUNNING or FAILED-INTERNALLY (the spec's
        example wraps it in quotes, so both forms are accepted).

        Both fields are required; a blank or zero one gets the spec example's
        value (1024 px wide, every 30 s). Surfly raises an interval under 5 s."""
        payload = {
            "size": int(size or SCREENSHOT_SIZE),
            "interval": int(interval or SCREENSHOT_INTERVAL),
        }
        response = self.request(
            "POST", f"sessions/{session_id}/screenshots/create/", json=payload
        )
        state = response.text.strip().strip('"').strip()
        if state not in SCREENSHOT_STATES:
            raise MalformedResponse(
                f"Surfly screenshot: unexpected answer {state[:40]!r}"
            )
        return state

    # --- reseller clients ---------------------------------------------
    def list_clients(self) -> list[Client]:
        """GET /clients/all/ (reseller keys only)."""
        return [
            Client.parse(c) for c in _list(self.get_json("clients/all/"), "clients")
        ]

    def create_client(
        self,
        company_name: str,
        domains: list[str] | str | None = None,
        agent_email: str | None = None,
        agent_name: str | None = None,
        *,
        company_plan_name: str | None = None,
        agent_password: str | None = None,
    ) -> Client:
        """POST /clients/all/: answers the new client's `client_key` and `rest_key`.

        Only `company_name` is required; what is left blank is not sent, so
        Surfly applies its defaults (plan `client_enterprise`, any domain)."""
        payload = {
            "company_name": company_name,
            "company_plan_name": company_plan_name,
            "domains": _tags(domains),
            "agent_email": agent_email,
            "agent_name": agent_name,
            "agent_password": agent_password,
        }
        body = self.request_json(
            "POST", "clients/all/", json={k: v for k, v in payload.items() if v}
        )
        return Client.parse(_obj(body, "create client"))

    def get_client(self, client_key: str) -> Client:
        """GET /clients/all/{client_key}/"""
        return Client.parse(_obj(self.get_json(f"clients/all/{client_key}/"), "client"))

    def set_client_domains(
        self, client_key: str, domains: list[str] | str
    ) -> list[str]:
        """POST /clients/all/{client_key}/ with a comma-separated `domains`."""
        body = self.request_json(
            "POST", f"clients/all/{client_key}/", json={"domains": _tags(domains) or ""}
        )
        return Client.parse({"client_key": client_key, **_obj(body, "domains")}).domains

    def update_client(self, client_key: str, company_name: str) -> Client:
        """PUT /clients/all/{client_key}/ (renames the company)."""
        body = self.request_json(
            "PUT", f"clients/all/{client_key}/", json={"company_name": company_name}
        )
        return Client.parse({"client_key": client_key, **_obj(body, "update client")})

    def delete_client(self, client_key: str) -> str:
        """DELETE /clients/all/{client_key}/"""
        body = self.request_json("DELETE", f"clients/all/{client_key}/")
        return str(body.get("response", "")) if isinstance(body, dict) else ""

    def client_sessions(
        self,
        client_key: str,
        *,
        active_session: bool | None = True,
        year: int | None = None,
        month: int | None = None,
    ) -> list[SessionInfo]:
        """GET /sessions/?clientkey=… : a reseller's view of one client's sessions
        (`active_session=None`: all of them, running and ended)."""
        params = {
            "clientkey": client_key,
            "active_session": _flag(active_session),
            "year": year,
            "month": month,
        }
        body = self.get_json("sessions/", params=params)
        return [SessionInfo.parse(s) for s in _list(body, "client sessions")]

    # --- history ---------------------------------------------
    def history_pages(
        self, resume: dict | None = None, **filters: Any
    ) -> Iterator[Page]:
        """GET /history/ page by page, following `next`; each page's cursor resumes
        after it. Filters: active_session, agent_id, pin, tags, min/max_duration,
        min/max_date (ISO 8601 with zone, half-open [min, max))."""
        params = {
            k: (_flag(v) if isinstance(v, bool) else _tags(v) if k == "tags" else v)
            for k, v in filters.items()
        }
        for page in self.history_pager.pages(self, "history/", params, resume):
            page.items = [SessionInfo.parse(s) for s in page.items]
            yield page

    def list_history(self) -> Iterator[SessionInfo]:
        """GET /history/ — every record, all pages."""
        for page in self.history_pages():
            yield from page.items

    def filter_history(self, **filters: Any) -> Iterator[SessionInfo]:
        """GET /history/ with filters — every matching record, all pages."""
        for page in self.history_pages(**filters):
            yield from page.items

    # --- webhooks ---------------------------------------------
    def list_webhooks(self) -> list[Webhook]:
        """GET /webhooks/ (`{count, next, previous, results}`), all pages."""
        hooks: list[Webhook] = []
        for page in self.webhook_pager.pages(self, "webhooks/"):
            hooks.extend(Webhook.parse(w) for w in page.items)
        return hooks

    def create_webhook(
        self,
        url: str,
        category: str,
        enabled: bool = True,
        ssl_verification: bool = True,
    ) -> Webhook:
        """POST /webhooks/ (201). One category (event type) per webhook."""
        body = self.request_json(
            "POST",
            "webhooks/",
            json={
                "url": url,
                "category": category,
                "enabled": enabled,
                "ssl_verification": ssl_verification,
            },
        )
        return Webhook.parse(_obj(body, "create webhook"))

    def get_webhook(self, webhook_id: str | int) -> Webhook:
        """GET /webhooks/{id}/"""
        return Webhook.parse(_obj(self.get_json(f"webhooks/{webhook_id}/"), "webhook"))

    def update_webhook(
        self,
        webhook_id: str | int,
        url: str,
        category: str,
        enabled: bool = True,
        ssl_verification: bool = True,
    ) -> Webhook:
        """PUT /webhooks/{id}/ (same body as create)."""
        body = self.request_json(
            "PUT",
            f"webhooks/{webhook_id}/",
            json={
                "url": url,
                "category": category,
                "enabled": enabled,
                "ssl_verification": ssl_verification,
            },
        )
        return Webhook.parse(_obj(body, "update webhook"))

    def delete_webhook(self, webhook_id: str | int) -> None:
        """DELETE /webhooks/{id}/ (204, no body)."""
        self.request("DELETE", f"webhooks/{webhook_id}/")

    # --- servers ---------------------------------------------
    def list_servers(self) -> list[Server]:
        """GET /servers (the one path without a trailing slash)."""
        return [Server.parse(s) for s in _list(self.get_json("servers"), "servers")]
