"""The vendor registry: each vendor app declares itself from its AppConfig.

Core code (sidebar, account forms, schedules, dispatch, dashboards) loops over the
registry and never names a vendor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.apps import AppConfig
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    secret: bool = True
    required: bool = True
    help_text: str = ""


@dataclass(frozen=True)
class Stream:
    """One sync stream: `func(ctx)` pulls it; beat runs it every `every` seconds."""

    name: str
    label: str
    func: str
    every: int
    kind: str = "entities"  # entities | live | history | usage | options

    @property
    def live(self) -> bool:
        """A live stream reads what is happening now (rooms, sessions, visitors
        online) in a call or two, every minute or two: it runs on the live queue,
        apart from the long pulls (`core.routing`)."""
        return self.kind == "live"


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str  # reversed with account_id
    min_role: str = "agent"
    reseller_only: bool = False


@dataclass(frozen=True)
class ActivitySource:
    """Rows of `model` (an "app_label.Model" of the vendor) feed the control room's
    activity index (`core.Activity`) as activities of `kind`.

    `map` is the dotted path of `f(account, row) -> dict`: `row` is the stored vendor
    row as a dict of its fields (plus `id`; never `raw`), the answer the Activity
    fields (`status`, `started_at`, `ended_at`, `duration`, `agent_external_id`,
    `agent_name`, `visitor`, `url`, `title`, `tags`, `link`). vendorkit writes them
    in the same transaction as the vendor rows (`vendorkit.activity`)."""

    model: str
    kind: str
    map: str
    #: The vendor's rows name the agent by id only: the index takes the agent's
    #: name from the directory (and refreshes it when the directory entry changes).
    agent_name_from_directory: bool = False

    @cached_property
    def map_func(self) -> Any:
        return import_string(self.map)


@dataclass(frozen=True)
class AgentSource:
    """Rows of `model` are the vendor's agents or users: they feed the agent
    directory (`core.VendorAgent`, matched to an `AgentIdentity` by e-mail).

    `map(account, row) -> dict` returns `name`, `email`, `role`, `available`,
    `free`, `last_activity_at` (None where the vendor does not tell)."""

    model: str
    map: str

    @cached_property
    def map_func(self) -> Any:
        return import_string(self.map)


@dataclass(frozen=True)
class Reconciliation:
    """The vendor's webhook events change rows of `model` (an "app_label.Model"
    of the vendor) that the `streams` also pull: each pull of those streams
    reports the changes it found that no webhook had delivered, and the events
    no pull matched (`vendorkit.reconciliation`). The handler's `record_key(event)`
    names the row (its external id).

    `changed_at`: the pulled row's fields holding the vendor's times of the
    record's changes (the latest set one counts): a change from before the
    account's first webhook event is not counted as missed, nor one without a
    time. `expects`: the dotted path of `f(row) -> bool`, whether the vendor
    sends an event for this pulled (created or updated) row at all (empty:
    for every change)."""

    model: str
    streams: tuple[str, ...]
    changed_at: tuple[str, ...] = ()
    expects: str = ""


@dataclass
class VendorSpec:
    slug: str
    label: str
    client_class: str
    default_base_url: str
    credential_fields: tuple[CredentialField, ...]
    streams: tuple[Stream, ...] = ()
    nav: tuple[NavItem, ...] = ()
    capabilities: frozenset[str] = frozenset()
    #: Path under the portal where this vendor's sandbox API lives.
    sandbox_path: str = ""
    sandbox_seed: str = ""
    #: Demo accounts per workspace kind ("reseller", "client"): credentials that
    #: the seeded sandbox accepts.
    sandbox_demo_credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    #: `f(credentials, receiver_url)`: make the sandbox send this account's
    #: webhooks to the portal (the demo's live events).
    sandbox_connect_webhooks: str = ""
    #: `f({"reseller": account, "client": account}) -> str`: portal rows the demo
    #: needs that no stream fills (what the portal itself made at the vendor).
    sandbox_demo_rows: str = ""
    webhook_handler: str = ""
    #: Dotted path of `f(accounts) -> {account.pk: [{"label", "value", "url"}]}`:
    #: the dashboard cards' figures of all the workspace's accounts of this vendor,
    #: read from the local database in one query (never a vendor call, never one
    #: query per account).
    dashboard_figures: str = ""
    #: Dotted path of `f(reseller_workspace, client_workspace_ids) ->
    #: {client_workspace_id: {"licences": int}}`: the paid seats the vendor tells
    #: per client workspace of a reseller (SameSurf subscriptions' licence count,
    #: Surfly clients' maximum number of agents), read from the local database in
    #: one query. Empty: the vendor tells no licence count (the Seats page shows
    #: "—" and flags no idle seats).
    seat_licences: str = ""
    docs_url: str = ""
    #: How this vendor's rows feed the control room (see ActivitySource, AgentSource).
    activities: tuple[ActivitySource, ...] = ()
    agents: tuple[AgentSource, ...] = ()
    #: URL name of the vendor's POST action that ends one activity; it takes the
    #: same URL keywords as the activity's own page (`Activity.link`), so the
    #: cross-vendor Live board can offer it. Empty: no end action.
    end_activity: str = ""
    #: Dotted path of the vendor's `vendorkit.provisioning.Provisioner` subclass:
    #: how the reseller's one-screen flows create a client, remove one and
    #: offboard a person there. Empty: the vendor is not offered.
    provisioning: str = ""
    #: Dotted path of `f(accounts) -> iterable of {"key", "subject", "message",
    #: "account_id"}`: problems only the vendor's own rows tell (Surfly: a webhook
    #: Surfly switched off), read from the local database in one query for all the
    #: workspace's accounts of the vendor; the alerts app's `vendor` rule opens an
    #: alert per key and resolves it when the key is no longer returned.
    alert_checks: str = ""
    #: The pulled model the vendor's webhook events cover (webhook-versus-poll
    #: reconciliation), or None: the vendor's events are not reconciled.
    reconciles: Reconciliation | None = None

    @cached_property
    def provisioner(self) -> Any:
        return import_string(self.provisioning)(self) if self.provisioning else None

    @cached_property
    def client_cls(self) -> Any:
        return import_string(self.client_class)

    def client_for(self, account) -> Any:
        return self.client_cls.for_account(account)

    def stream(self, name: str) -> Stream:
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(f"{self.slug} has no stream {name!r}")

    def stream_func(self, name: str):
        return import_string(self.stream(name).func)

    @cached_property
    def webhooks(self) -> Any:
        return import_string(self.webhook_handler)() if self.webhook_handler else None


_registry: dict[str, VendorSpec] = {}


def register(spec: VendorSpec) -> None:
    _registry[spec.slug] = spec
    _sources.clear()


#: "app_label.model" -> [(spec, source), ...], built on first use.
_sources: dict[str, list[tuple[VendorSpec, ActivitySource | AgentSource]]] = {}


def sources_for(label: str) -> list[tuple[VendorSpec, ActivitySource | AgentSource]]:
    """The activity and agent sources every vendor declared on model `label`
    ("app_label.modelname", lower case as `Model._meta.label_lower`)."""
    if not _sources and _registry:
        for spec in _registry.values():
            for source in (*spec.activities, *spec.agents):
                _sources.setdefault(source.model.lower(), []).append((spec, source))
        _sources.setdefault("", [])  # built (even when nobody declared a source)
    return _sources.get(label, [])


def get(slug: str) -> VendorSpec:
    return _registry[slug]


def all_vendors() -> list[VendorSpec]:
    return sorted(_registry.values(), key=lambda s: s.label)


def choices() -> list[tuple[str, str]]:
    return [(s.slug, s.label) for s in all_vendors()]


class VendorAppConfig(AppConfig):
    """Base AppConfig for `vendors/<vendor>/`: registers `vendor` in ready()."""

    vendor: VendorSpec

    def ready(self) -> None:
        register(self.vendor)
