"""Upscope registers itself with the vendor registry: the client and sandbox,
the streams (sync.py), the session-end intake (webhooks.py), the demo rows
(demo.py), the pages (nav) and the Live board's end action, and what feeds the
control room (models.py / activity.py say what feeds what)."""

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
                "REST API key",
                help_text="Upscope → Settings → Integrations → REST API (the "
                "secret key, shown once: regenerate it there if it was lost; not "
                "the public SDK key).",
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
        capabilities=frozenset(
            {"sessions", "visitors", "watch_links", "agents", "history", "usage"}
        ),
        sandbox_path="/sandbox/upscope/v1.3",
        sandbox_seed=f"{P}.sandbox.seed.seed",
        sandbox_demo_rows=f"{P}.demo.demo_rows",
        sandbox_demo_credentials={
            "reseller": {"api_key": "sandbox-upscope-key-0001"},
            "client": {"api_key": "sandbox-upscope-key-0002"},
        },
        # Upscope posts a session's JSON to the watch link's `webhook_url` when
        # it ends: the account's receiver (`vendorkit.webhooks.receiver_url`).
        webhook_handler=f"{P}.webhooks.UpscopeWebhookHandler",
        # Webhook-versus-poll reconciliation: the session-end post against the
        # sessions stream, for the sessions the portal's watch links started
        # (only those carry our `webhook_url`: `webhooks.expects_post`).
        reconciles=Reconciliation(
            model="upscope.UpscopeSession",
            streams=("sessions",),
            changed_at=("updated_at", "ended_at", "started_at"),
            expects=f"{P}.webhooks.expects_post",
        ),
        # No seat_licences: Upscope's REST API tells no plan or seat count.
        docs_url="https://docs.upscope.com/rest-api/endpoints/",
        # The reseller's one-screen flows: no reseller API, a pasted key.
        provisioning="cobrowse_portal.vendorkit.provisioning.PastedKey",
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
