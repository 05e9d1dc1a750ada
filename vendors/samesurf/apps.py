"""SameSurf registers itself with the vendor registry."""

from __future__ import annotations

from cobrowse_portal.vendorkit.registry import (
    CredentialField,
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
        # Streams, pages and the control-room sources come with the models.
        capabilities=frozenset(
            {"rooms", "scheduled_rooms", "recordings", "history", "reseller_clients"}
        ),
        sandbox_path="/sandbox/samesurf/api/v3",
        sandbox_seed=f"{P}.sandbox.seed.seed",
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
        docs_url="https://dashboard.samesurf.com/api",
    )
