"""A stand-in for Serviceform's VendorSpec while its apps.py (part 3a, h-sf3)
is built on another branch: the pages need the vendor registered (accounts'
`spec`, the `v/serviceform/` URLs, the nav). It declares exactly what the
briefs fix (client, sandbox, credentials, nav, the chat activity source) and
no streams. Once the real spec is registered, `ensure_spec()` does nothing.

# Integrator: delete this module (and its `ensure_spec()` calls) when apps.py
# registers the real VendorSpec.
"""

from __future__ import annotations

import importlib
import sys

from django.conf import settings
from django.urls import clear_url_caches

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit import registry
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    CredentialField,
    NavItem,
    VendorSpec,
)
from vendors.serviceform.sandbox.seed import CLIENT_KEY, MAIN_KEY

P = "vendors.serviceform"

SPEC = VendorSpec(
    slug="serviceform",
    label="Serviceform",
    client_class=f"{P}.client.ServiceformClient",
    default_base_url="https://link.serviceform.com",
    credential_fields=(CredentialField("api_key", "API key (sf-api-key)"),),
    nav=(
        NavItem("Chats", "serviceform:chats"),
        NavItem("Spaces", "serviceform:spaces", min_role="manager"),
        NavItem("Leads", "serviceform:leads", min_role="manager"),
        NavItem("Chat statistics", "serviceform:statistics", min_role="manager"),
    ),
    sandbox_path="/sandbox/serviceform",
    sandbox_seed=f"{P}.sandbox.seed.seed",
    sandbox_demo_credentials={
        "reseller": {"api_key": MAIN_KEY},
        "client": {"api_key": CLIENT_KEY},
    },
    activities=(
        ActivitySource(
            model="serviceform.ServiceformChat",
            kind=ActivityKind.CHAT,
            map=f"{P}.activity.chat_activity",
        ),
    ),
)


def ensure_spec() -> None:
    """Register SPEC unless Serviceform is registered, and remount the URLs."""
    if any(s.slug == "serviceform" for s in registry.all_vendors()):
        return
    registry.register(SPEC)
    urls = sys.modules.get(settings.ROOT_URLCONF)
    if urls is not None:
        importlib.reload(urls)
    clear_url_caches()
    from vendors.serviceform import activity

    activity._missing.clear()
