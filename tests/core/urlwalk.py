"""Walk every named URL of the project and say what each persona should get.

Used by the URL matrix (roles, tenancy) and by the credential tests (no page ever
shows a secret). Vendor pages added later under their own namespace (``surfly:``…)
are picked up automatically; a URL keyword nobody knows how to fill fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cobrowse_portal.core.choices import ROLE_RANK
from cobrowse_portal.vendorkit import registry

#: Skipped URLs and why. Everything else is walked.
SKIPPED_PREFIXES = {
    # The vendor sandboxes are fake *vendor APIs* (authenticated by the vendor's own
    # api_key, answering JSON), not portal pages; their own suite tests them.
    "sandbox/": "fake vendor API, not a portal page",
    # Django's admin: only its index is walked (below); the per-model pages are
    # Django's own code, and credentials in them are covered by test_credentials.
    "admin/": "Django admin (index walked separately)",
}
SKIPPED_NAMES = {
    # Called by vendors, not people: token in the URL, no session; test_webhooks.
    "webhook_receive": "inbound vendor webhook endpoint, not a portal page",
}
EXTRA_NAMES = ["admin:index"]

# What a persona gets from views that are not `role_required` (they expose no
# `min_role`). "login" means a redirect to the login page.
SPECIAL = {
    "login": {"anon": 200, "member": 200},
    "logout": {"anon": 405, "member": 405},  # POST-only (Django 5)
    "password_change": {"anon": "login", "member": 200},
    "password_change_done": {"anon": "login", "member": 200},
    "core:switch_workspace": {"anon": "login", "member": 405},  # POST-only
    "admin:index": {"anon": "admin-login", "member": "admin-login", "superuser": 200},
}

# Kwargs whose value names a vendor object: looked up by model name in the vendor
# app (``session_pk`` -> a model whose name contains "session"); `pk` guesses the
# model from the URL name. No match: a nonexistent id, and 404 is fine.
OBJECT_KWARGS = {
    "pk",
    "session_pk",
    "agent_pk",
    "webhook_pk",
    "client_pk",
    "server_pk",
    "space_pk",  # Serviceform: a flex space's items and its new-item form
}
MISSING_ID = 987654321


def _workspace_samples() -> dict:
    """Kwargs naming an object of the account's workspace (not of a vendor app):
    kwarg -> f(workspace) -> the object or None."""
    from cobrowse_portal.alerts.models import Alert
    from cobrowse_portal.core.models import AgentIdentity, Workspace
    from cobrowse_portal.provisioning.models import ProvisioningRun, ProvisioningStep
    from cobrowse_portal.reports.models import (
        OutboxMessage,
        ReportDefinition,
        ReportRun,
    )

    def first(qs):
        return qs.order_by("pk").first()

    return {
        "client_id": lambda ws: first(Workspace.objects.filter(parent=ws)),
        "prun_id": lambda ws: first(ProvisioningRun.objects.filter(workspace=ws)),
        "step_id": lambda ws: first(ProvisioningStep.objects.filter(run__workspace=ws)),
        "identity_id": lambda ws: first(AgentIdentity.objects.filter(workspace=ws)),
        "alert_id": lambda ws: first(Alert.objects.filter(workspace=ws)),
        "definition_id": lambda ws: first(
            ReportDefinition.objects.filter(workspace=ws)
        ),
        "report_run_id": lambda ws: first(ReportRun.objects.filter(workspace=ws)),
        "message_id": lambda ws: first(OutboxMessage.objects.filter(workspace=ws)),
    }


@dataclass
class Page:
    name: str  # qualified, e.g. "core:account_detail"
    route: str
    callback: object
    kwargs: dict = field(default_factory=dict)  # kwarg -> converter

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0]

    @property
    def min_role(self) -> str | None:
        return getattr(self.callback, "min_role", None)

    @property
    def reseller_only(self) -> bool:
        """A page of reseller workspaces only (`reseller_only` on the view, as
        `core.views.seats.reseller_required` sets it): 404 in any other."""
        return bool(getattr(self.callback, "reseller_only", False))

    @property
    def is_object_page(self) -> bool:
        return bool(self.kwargs)

    def __str__(self) -> str:
        return self.name


def _walk(patterns, prefix="", namespace="", converters=None):
    converters = converters or {}
    for p in patterns:
        route = prefix + str(p.pattern)
        conv = {**converters, **getattr(p.pattern, "converters", {})}
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, route, ns, conv)
        elif isinstance(p, URLPattern) and p.name:
            name = f"{namespace}:{p.name}" if namespace else p.name
            yield Page(name, route, p.callback, conv)


def all_pages() -> list[Page]:
    """Every named URL, deduplicated by name, skipped ones excluded."""
    seen: dict[str, Page] = {}
    for page in _walk(get_resolver().url_patterns):
        if page.name in EXTRA_NAMES:
            seen.setdefault(page.name, page)
            continue
        if any(page.route.startswith(p) for p in SKIPPED_PREFIXES):
            continue
        if page.name.rpartition(":")[2] in SKIPPED_NAMES:
            continue
        seen.setdefault(page.name, page)
    return sorted(seen.values(), key=lambda p: p.name)


def allowed_methods(view) -> set[str] | None:
    """The methods a `require_http_methods` decorator allows, found through the
    `__wrapped__` chain (None: the view does not restrict methods this way)."""
    fn, hops = view, 0
    while fn is not None and hops < 20:
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if (
                isinstance(value, list | tuple)
                and value
                and all(isinstance(v, str) and v.isupper() for v in value)
            ):
                return set(value)
        fn, hops = getattr(fn, "__wrapped__", None), hops + 1
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return {
            m.upper() for m in view_class.http_method_names if hasattr(view_class, m)
        }
    return None


def get_allowed(page: Page) -> bool:
    methods = allowed_methods(page.callback)
    return methods is None or "GET" in methods


# --- kwargs --------------------------------------------------------------------------
class MissingSample(LookupError):
    pass


def _vendor_models(namespace: str):
    try:
        return list(apps.get_app_config(namespace).get_models())
    except LookupError:
        return []


def _guess_object(page: Page, kwarg: str, account):
    """An object of the vendor app matching `kwarg`, owned by `account`, or None."""
    hint = kwarg.removesuffix("_pk") if kwarg != "pk" else page.name.rpartition(":")[2]
    word = hint.split("_")[0]
    for model in _vendor_models(page.namespace):
        token = model.__name__.lower().removeprefix(page.namespace)
        if token and word and (token in hint or word in token):
            field_names = {f.name for f in model._meta.get_fields()}
            if "account" in field_names:
                return model.objects.filter(account=account).order_by("pk").first()
    return None


def account_for_page(page: Page, accounts: dict):
    """The account to use: one of the namespace's vendor, else the default one."""
    slugs = {s.slug for s in registry.all_vendors()}
    vendor = page.namespace if page.namespace in slugs else "surfly"
    return accounts.get(vendor) or next(iter(accounts.values()))


def build_kwargs(page: Page, accounts: dict, run) -> tuple[dict, bool]:
    """(kwargs, exact): exact is False when no object of the vendor app matched an
    object keyword (a nonexistent id is used), in which case 404 is acceptable."""
    account = account_for_page(page, accounts)
    values, exact = {}, True
    samples = _workspace_samples()
    for kwarg in page.kwargs:
        if kwarg == "account_id":
            values[kwarg] = account.pk
        elif kwarg == "run_id":
            values[kwarg] = run.pk
        elif kwarg == "stream":
            values[kwarg] = account.spec.streams[0].name
        elif kwarg == "action":  # core:pending_write's retry|discard
            values[kwarg] = "retry"
        elif kwarg in samples:
            obj = samples[kwarg](account.workspace)
            values[kwarg] = obj.pk if obj else MISSING_ID
            exact = exact and obj is not None
        elif kwarg in OBJECT_KWARGS:
            obj = _guess_object(page, kwarg, account)
            values[kwarg] = obj.pk if obj else MISSING_ID
            exact = exact and obj is not None
        else:
            raise MissingSample(
                f"URL {page.name!r} ({page.route}) takes the keyword {kwarg!r}, which "
                "the page walker cannot fill. Add a sample value for it in "
                "build_kwargs() in tests/core/urlwalk.py."
            )
    return values, exact


def url_for(page: Page, accounts: dict, run) -> tuple[str, bool]:
    kwargs, exact = build_kwargs(page, accounts, run)
    return reverse(page.name, kwargs=kwargs), exact


def rank(role: str | None) -> int:
    return ROLE_RANK.get(role, 0)


def body(response) -> bytes:
    """The response body, streamed ones (CSV exports) included."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content
