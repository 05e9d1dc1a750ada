"""The Smartsupp pages in tests before the VendorSpec lands (h-ss3 declares it
in vendors/smartsupp/apps.py). `pages` registers a spec with the agreed nav and
mounts `vendors.smartsupp.urls` under /v/smartsupp/ for one test; once the app
registers its own spec, the fixture only checks that the nav is the agreed one.

Integrator: when apps.py declares the spec, this module's SPEC and urls become
no-ops (the registered spec and the root URLconf are used as they are)."""

from __future__ import annotations

import pytest
from django.urls import include, path

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit import registry
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    AgentSource,
    CredentialField,
    NavItem,
    VendorSpec,
)

P = "vendors.smartsupp"
NAV = (
    NavItem("Chats", "smartsupp:chats"),
    NavItem("Accounts", "smartsupp:accounts", min_role="manager", reseller_only=True),
    NavItem("Users", "smartsupp:users", min_role="manager"),
    NavItem("Triggers", "smartsupp:triggers", min_role="manager"),
    NavItem("Office hours", "smartsupp:officehours", min_role="manager"),
)
SPEC = VendorSpec(
    slug="smartsupp",
    label="Smartsupp",
    client_class=f"{P}.client.SmartsuppClient",
    default_base_url="http://api.smartsupp.com",
    credential_fields=(CredentialField("api_key", "Partner API key"),),
    nav=NAV,
    sandbox_path="/sandbox/smartsupp",
    sandbox_seed=f"{P}.sandbox.seed.seed",
    sandbox_demo_credentials={
        "reseller": {"api_key": "sandbox-smartsupp-key-0001"},
        "client": {"api_key": "sandbox-smartsupp-key-0002"},
    },
    activities=(
        ActivitySource(
            model="smartsupp.SmartsuppChat",
            kind=ActivityKind.CHAT,
            map=f"{P}.activity.chat_activity",
            agent_name_from_directory=True,
        ),
    ),
    agents=(
        AgentSource(model="smartsupp.SmartsuppUser", map=f"{P}.activity.user_entry"),
    ),
)


def _root():
    from cobrowse_portal import urls

    return urls.urlpatterns


def _mounted() -> bool:
    return any(str(p.pattern) == "v/smartsupp/" for p in _root())


# This module is also the tests' URLconf (`pages` sets ROOT_URLCONF to it).
urlpatterns = [
    *_root(),
    *([] if _mounted() else [path("v/smartsupp/", include("vendors.smartsupp.urls"))]),
]


@pytest.fixture
def pages(settings):
    """The Smartsupp spec registered and its pages mounted, for one test."""
    own = "smartsupp" not in {s.slug for s in registry.all_vendors()}
    if own:
        registry.register(SPEC)
    else:
        assert tuple(n.url_name for n in registry.get("smartsupp").nav) == tuple(
            n.url_name for n in NAV
        )
    settings.ROOT_URLCONF = __name__
    yield registry.get("smartsupp")
    if own:
        registry._registry.pop("smartsupp", None)
        registry._sources.clear()
