"""Upscope registers itself with the vendor registry.

Streams, control-room sources, the session-end intake and the demo rows are
declared here; the pages (nav items) and the Live board's end action come with
the views."""

from __future__ import annotations

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    AgentSource,
    CredentialField,
    Stream,
    VendorAppConfig,
    VendorSpec,
)

P = "vendors.upscope"


class UpscopeConfig(VendorAppConfig):
    default = True  # apps.py also holds the imported base class
    name = "vendors.upscope"
    label = "upscope"
    verbose_name = "Upscope"
    vendor = VendorSpec(
        slug="upscope",
        label="Upscope",
        client_class=f"{P}.client.UpscopeClient",
        # The API version is pinned here and nowhere else (vendor-apis.md §3.9).
        default_base_url="https://api.upscope.io/v1.3",
        credential_fields=(
            CredentialField(
                "api_key",
                "Secret API key",
                help_text="Upscope settings → API. Upscope shows it only once: "
                "regenerate it there if it was lost.",
            ),
        ),
        streams=(
            Stream(
                "visitors",
                "Visitors online",
                f"{P}.sync.pull_visitors_online",
                every=60,
                kind="live",
            ),
            Stream(
                "sessions",
                "Co-browsing sessions",
                f"{P}.sync.pull_sessions",
                every=5 * 60,
                kind="history",
            ),
            Stream(
                "usage", "Usage", f"{P}.sync.pull_usage", every=60 * 60, kind="usage"
            ),
            Stream(
                "agents", "Agents (lookup)", f"{P}.sync.pull_agents", every=24 * 3600
            ),
        ),
        capabilities=frozenset({"sessions", "visitors", "agents", "history"}),
        sandbox_path="/sandbox/upscope/v1.3",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_rows=f"{P}.demo.demo_rows",
        sandbox_demo_credentials={
            "reseller": {"api_key": "sandbox-upscope-key-0001"},
            "client": {"api_key": "sandbox-upscope-key-0002"},
        },
        # Upscope posts a session's JSON to the watch link's `webhook_url` when
        # it ends: the account's receiver (`webhooks.receiver_url`).
        webhook_handler=f"{P}.webhooks.UpscopeWebhookHandler",
        docs_url="https://docs.upscope.com/rest-api/endpoints/",
        # The control room: sessions are activities, looked-up agents directory
        # entries (a session's agent name may be missing: the directory's then).
        activities=(
            ActivitySource(
                model="upscope.UpscopeSession",
                kind=ActivityKind.COBROWSE,
                map=f"{P}.activity.session_activity",
                agent_name_from_directory=True,
            ),
        ),
        agents=(
            AgentSource(model="upscope.UpscopeAgent", map=f"{P}.activity.agent_entry"),
        ),
    )
