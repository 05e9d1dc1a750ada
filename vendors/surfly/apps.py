"""Surfly registers itself with the vendor registry."""

from __future__ import annotations

from cobrowse_portal.core.choices import ActivityKind
from cobrowse_portal.vendorkit.registry import (
    ActivitySource,
    AgentSource,
    CredentialField,
    NavItem,
    Reconciliation,
    Stream,
    VendorAppConfig,
    VendorSpec,
)

P = "vendors.surfly"


class SurflyConfig(VendorAppConfig):
    default = True  # apps.py also holds the imported base class
    name = "vendors.surfly"
    label = "surfly"
    verbose_name = "Surfly"
    vendor = VendorSpec(
        slug="surfly",
        label="Surfly",
        client_class=f"{P}.client.SurflyClient",
        default_base_url="https://surfly.com/v2",
        credential_fields=(
            CredentialField(
                "api_key",
                "REST API key",
                help_text="Surfly dashboard → Integration, below the widget code.",
            ),
        ),
        streams=(
            Stream("agents", "Agents", f"{P}.sync.pull_agents", every=15 * 60),
            Stream(
                "live",
                "Live sessions",
                f"{P}.sync.pull_live_sessions",
                every=2 * 60,
                kind="live",
            ),
            Stream(
                "history",
                "Session history",
                f"{P}.sync.pull_history",
                every=5 * 60,
                kind="history",
            ),
            # Surfly has no "updated since" filter: a daily full re-scan catches
            # late edits to old records (tags, durations) that `min_date` misses.
            Stream(
                "history_full",
                "History (full re-scan)",
                f"{P}.sync.pull_history_full",
                every=24 * 3600,
                kind="history",
            ),
            Stream("webhooks", "Webhooks", f"{P}.sync.pull_webhooks", every=60 * 60),
            Stream(
                "clients", "Reseller clients", f"{P}.sync.pull_clients", every=24 * 3600
            ),
            Stream(
                "options",
                "Company options",
                f"{P}.sync.pull_options",
                every=24 * 3600,
                kind="options",
            ),
            Stream("servers", "Servers", f"{P}.sync.pull_servers", every=24 * 3600),
        ),
        nav=(
            NavItem("Live sessions", "surfly:live"),
            NavItem("Start co-browse", "surfly:session_start"),
            NavItem("History", "surfly:history", min_role="manager"),
            NavItem("Agents", "surfly:agents", min_role="manager"),
            NavItem("Company options", "surfly:options", min_role="manager"),
            NavItem("Webhooks", "surfly:webhooks", min_role="manager"),
            NavItem(
                "Clients", "surfly:clients", min_role="manager", reseller_only=True
            ),
            NavItem("Servers", "surfly:servers", min_role="manager"),
        ),
        capabilities=frozenset(
            {
                "sessions",
                "agents",
                "history",
                "webhooks",
                "reseller_clients",
                "screenshots",
            }
        ),
        sandbox_path="/sandbox/surfly/v2",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_credentials={
            "reseller": {"api_key": "sandbox-surfly-reseller-key-0001"},
            "client": {"api_key": "sandbox-surfly-client-key-0001"},
        },
        sandbox_connect_webhooks=f"{P}.sandbox.seed.connect_demo_webhooks",
        webhook_handler=f"{P}.webhooks.SurflyWebhookHandler",
        dashboard_figures=f"{P}.views.dashboard_figures",
        seat_licences=f"{P}.seats.seat_licences",
        end_activity="surfly:session_end",
        docs_url="https://docs.surfly.com/rest.html",
        provisioning=f"{P}.provisioning.SurflyProvisioner",
        alert_checks=f"{P}.alerts.switched_off_webhooks",
        # Webhook-versus-poll reconciliation: every session.* event changes a
        # session that the live and history streams also pull.
        reconciles=Reconciliation(
            model="surfly.CobrowseSession",
            streams=("live", "history", "history_full"),
            changed_at=("start_time", "end_time"),
        ),
        # The control room: sessions are activities, agents directory entries.
        activities=(
            ActivitySource(
                model="surfly.CobrowseSession",
                kind=ActivityKind.COBROWSE,
                map=f"{P}.activity.session_activity",
                agent_name_from_directory=True,
            ),
        ),
        agents=(
            AgentSource(model="surfly.SurflyAgent", map=f"{P}.activity.agent_entry"),
        ),
    )
