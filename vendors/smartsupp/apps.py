"""Smartsupp registers itself with the vendor registry: the legacy REST client
and its sandbox, the streams (sync.py: accounts, and per account their users
and triggers), the finished-chat POST hook intake (webhooks.py), the demo rows
(demo.py), the pages (nav) and what feeds the control room (finished chats are
chat activities, users directory entries: models.py / activity.py)."""

from __future__ import annotations

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    AgentSource,
    CredentialField,
    NavItem,
    Stream,
    VendorAppConfig,
    VendorSpec,
)

P = "vendors.smartsupp"


class SmartsuppConfig(VendorAppConfig):
    default = True  # apps.py also holds the imported base class
    name = "vendors.smartsupp"
    label = "smartsupp"
    verbose_name = "Smartsupp"
    vendor = VendorSpec(
        slug="smartsupp",
        label="Smartsupp",
        client_class=f"{P}.client.SmartsuppClient",
        # The documented root is plain http (the guide and the PHP wrapper): the
        # outbound policy allows http for exactly the origins a registered
        # `default_base_url` names (vendorkit.outbound.documented_http_origins).
        default_base_url="http://api.smartsupp.com",
        credential_fields=(
            CredentialField(
                "api_key",
                "Partner API key (apiKey)",
                help_text="The partner (reseller) API key Smartsupp issues on "
                "request: it manages every account made with it. Sent in the "
                "apiKey header only, never in a URL.",
            ),
        ),
        streams=(
            Stream(
                "accounts",
                "Accounts",
                f"{P}.sync.pull_accounts",
                every=60 * 60,
            ),
            Stream("users", "Users", f"{P}.sync.pull_users", every=60 * 60),
            Stream("triggers", "Triggers", f"{P}.sync.pull_triggers", every=60 * 60),
        ),
        # --- pages (chats for everyone; provisioning for managers) ------------
        nav=(
            NavItem("Chats", "smartsupp:chats"),
            NavItem(
                "Accounts", "smartsupp:accounts", min_role="manager", reseller_only=True
            ),
            NavItem("Users", "smartsupp:users", min_role="manager"),
            NavItem("Triggers", "smartsupp:triggers", min_role="manager"),
            NavItem("Office hours", "smartsupp:officehours", min_role="manager"),
        ),
        capabilities=frozenset(
            {"accounts", "agents", "triggers", "office_hours", "chats", "history"}
        ),
        sandbox_path="/sandbox/smartsupp",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_rows=f"{P}.demo.demo_rows",
        sandbox_demo_credentials={
            "reseller": {"api_key": "sandbox-smartsupp-key-0001"},
            "client": {"api_key": "sandbox-smartsupp-key-0002"},
        },
        # Smartsupp's legacy POST hook sends each finished chat to a URL its
        # support sets up on request (vendor-apis.md §5.5): the account's
        # receiver (`vendorkit.webhooks.receiver_url`).
        webhook_handler=f"{P}.webhooks.SmartsuppWebhookHandler",
        dashboard_figures=f"{P}.dashboard.dashboard_figures",
        # No seat_licences: a Smartsupp account carries only id, title, lang and
        # accountKey (vendor-apis.md §5.2) and no call tells its package or seats.
        docs_url="https://developers.smartsupp.com/rest/",
        provisioning=f"{P}.provisioning.SmartsuppProvisioner",
        # The control room: finished chats are activities (their agent named
        # by the agent messages, else the directory), users directory entries.
        activities=(
            ActivitySource(
                model="smartsupp.SmartsuppChat",
                kind=ActivityKind.CHAT,
                map=f"{P}.activity.chat_activity",
                agent_name_from_directory=True,
            ),
        ),
        agents=(
            AgentSource(
                model="smartsupp.SmartsuppUser", map=f"{P}.activity.user_entry"
            ),
        ),
    )
