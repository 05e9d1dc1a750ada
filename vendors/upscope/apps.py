"""Upscope registers itself with the vendor registry.

Streams (visitors online, sessions, usage, agents), the session-end webhook
handler and the demo rows are declared by the sync side (sync.py, webhooks.py,
demo.py); this declaration carries the client, the sandbox, the control-room
sources, the pages (nav) and the Live board's end action.
"""

from __future__ import annotations

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    AgentSource,
    CredentialField,
    NavItem,
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
        default_base_url="https://api.upscope.io/v1.3",
        credential_fields=(
            CredentialField(
                "api_key",
                "REST API key",
                help_text="Upscope → Settings → Integrations → REST API (the "
                "secret key, shown once; not the public SDK key).",
            ),
        ),
        # --- pages (an agent watches and stops; reports and lookups: managers;
        # the deletes are admin-only inside their views' role checks) ---------
        nav=(
            NavItem("Visitors online", "upscope:visitors"),
            NavItem("Sessions", "upscope:sessions", min_role="manager"),
            NavItem("Agents", "upscope:agents", min_role="manager"),
            NavItem("Usage", "upscope:usage", min_role="manager"),
        ),
        # The Live board's End button: stops the visitor's session at Upscope
        # (which never confirms; the view says so).
        end_activity="upscope:session_stop",
        capabilities=frozenset({"visitors", "watch_links", "history", "usage"}),
        sandbox_path="/sandbox/upscope/v1.3",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_credentials={
            "reseller": {"api_key": "sandbox-upscope-key-0001"},
            "client": {"api_key": "sandbox-upscope-key-0002"},
        },
        docs_url="https://docs.upscope.com/rest-api/endpoints/",
        # --- the control room (models.py / activity.py say what feeds what) ---
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
