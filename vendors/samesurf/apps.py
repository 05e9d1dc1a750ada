"""SameSurf registers itself with the vendor registry."""

from __future__ import annotations

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    CredentialField,
    NavItem,
    Stream,
    VendorAppConfig,
    VendorSpec,
)

P = "vendors.samesurf"


class SameSurfConfig(VendorAppConfig):
    default = True  # apps.py also holds the imported base class
    name = "vendors.samesurf"
    label = "samesurf"
    verbose_name = "SameSurf"
    vendor = VendorSpec(
        slug="samesurf",
        label="SameSurf",
        client_class=f"{P}.client.SameSurfClient",
        default_base_url="https://api.samesurf.com/api/v3",
        # Both are secret: with the `none` algorithm enabled on a key, the key
        # alone calls the API (vendor-apis.md §2.7), so neither is ever shown.
        credential_fields=(
            CredentialField(
                "api_key",
                "API key",
                help_text="SameSurf dashboard → API; the JWT's `sub`.",
            ),
            CredentialField(
                "api_secret",
                "API secret",
                help_text="Signs each request's JWT (HS256) on the server; it "
                "never reaches a browser.",
            ),
        ),
        streams=(
            Stream(
                "running",
                "Running rooms",
                f"{P}.sync.pull_running_rooms",
                every=2 * 60,
                kind="live",
            ),
            Stream(
                "analytics",
                "Room history (analytics)",
                f"{P}.sync.pull_analytics_rooms",
                every=5 * 60,
                kind="history",
            ),
            Stream(
                "overview",
                "Analytics overview",
                f"{P}.sync.pull_overview",
                every=60 * 60,
                kind="usage",
            ),
            # No listing call exists: checks the subscriptions the portal made.
            Stream(
                "subscriptions",
                "Reseller subscriptions",
                f"{P}.sync.pull_subscriptions",
                every=24 * 3600,
            ),
        ),
        nav=(
            NavItem("Running rooms", "samesurf:running"),
            NavItem("Start room", "samesurf:room_start"),
            NavItem("Scheduled rooms", "samesurf:scheduled"),
            NavItem("Room history", "samesurf:history", min_role="manager"),
            NavItem("Analytics", "samesurf:analytics", min_role="manager"),
            NavItem(
                "Subscriptions",
                "samesurf:subscriptions",
                min_role="manager",
                reseller_only=True,
            ),
        ),
        capabilities=frozenset(
            {"rooms", "scheduled_rooms", "recordings", "history", "reseller_clients"}
        ),
        sandbox_path="/sandbox/samesurf/api/v3",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_rows=f"{P}.demo.demo_rows",
        sandbox_demo_credentials={
            "reseller": {
                "api_key": "sandbox-samesurf-reseller-key-0001",
                "api_secret": "sandbox-samesurf-reseller-secret-0001-0123456789",
            },
            "client": {
                "api_key": "sandbox-samesurf-client-key-0001",
                "api_secret": "sandbox-samesurf-client-secret-0001-0123456789",
            },
        },
        dashboard_figures=f"{P}.views.dashboard_figures",
        seat_licences=f"{P}.seats.seat_licences",
        docs_url="https://dashboard.samesurf.com/api",
        provisioning=f"{P}.provisioning.SameSurfProvisioner",
        # The control room: rooms are activities. SameSurf has no agent API, so
        # no AgentSource (activity.py says why).
        activities=(
            ActivitySource(
                model="samesurf.SameSurfRoom",
                kind=ActivityKind.ROOM,
                map=f"{P}.activity.room_activity",
            ),
        ),
    )
