"""Serviceform registers itself with the vendor registry: the client and
sandbox, the streams (sync.py), the pages (nav) and what feeds the control
room (models.py / activity.py say what feeds what)."""

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

P = "vendors.serviceform"


class ServiceformConfig(VendorAppConfig):
    default = True  # apps.py also holds the imported base class
    name = "vendors.serviceform"
    label = "serviceform"
    verbose_name = "Serviceform"
    vendor = VendorSpec(
        slug="serviceform",
        label="Serviceform",
        client_class=f"{P}.client.ServiceformClient",
        default_base_url="https://link.serviceform.com",
        credential_fields=(
            CredentialField(
                "api_key",
                "Public API key",
                # The docs do not say where the key is made; the integrations
                # page is where the help article lists the Public API.
                help_text="Serviceform's Public API key (the `sf-api-key`): "
                "ask Serviceform or find it under the account's integrations "
                "(help.serviceform.com, article “Public API”). Keep it secret.",
            ),
        ),
        streams=(
            Stream(
                "chats", "Chats", f"{P}.sync.pull_chats", every=5 * 60, kind="history"
            ),
            Stream(
                "spaces", "Spaces and items", f"{P}.sync.pull_spaces", every=60 * 60
            ),
            Stream("leads", "Leads", f"{P}.sync.pull_leads", every=60 * 60),
            Stream(
                "statistics",
                "Chat statistics",
                f"{P}.sync.pull_statistics",
                every=60 * 60,
                kind="usage",
            ),
        ),
        # --- pages (agents read chats; spaces, leads and reports: managers) ---
        nav=(
            NavItem("Chats", "serviceform:chats"),
            NavItem("Spaces", "serviceform:spaces", min_role="manager"),
            NavItem("Leads", "serviceform:leads", min_role="manager"),
            NavItem("Chat statistics", "serviceform:statistics", min_role="manager"),
        ),
        capabilities=frozenset({"chats", "history", "usage", "spaces", "leads"}),
        sandbox_path="/sandbox/serviceform",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_credentials={
            "reseller": {"api_key": "sandbox-serviceform-key-0001"},
            "client": {"api_key": "sandbox-serviceform-key-0002"},
        },
        dashboard_figures=f"{P}.dashboard.dashboard_figures",
        # No seat_licences: Serviceform's public API tells no plan or seat count.
        docs_url="https://help.serviceform.com/articles/public-api",
        # The reseller's one-screen flows: no reseller API, a pasted key.
        provisioning="cobrowse_portal.vendorkit.provisioning.PastedKey",
        # The control room: chats are activities (live while open). No agent
        # source: Serviceform lists no agents (activity.py says why).
        activities=(
            ActivitySource(
                model="serviceform.ServiceformChat",
                kind=ActivityKind.CHAT,
                map=f"{P}.activity.chat_activity",
            ),
        ),
    )
