"""Template context for the shell: the sidebar (control room, one group per vendor
with an account picker, Operations) and the workspace switcher.

The sidebar costs no query of its own and no `reverse()` per account: each URL name
is reversed once per process (core.urlcache) and formatted with the account id.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, resolve

from cobrowse_portal.vendorkit import registry

from .choices import ROLE_RANK, Role
from .models import workspaces_for
from .permissions import workspace_accounts
from .shell import Shell
from .urlcache import url_for, url_pattern

#: The control room, first in the sidebar. A name whose view does not exist yet is
#: left out (the pages land in their own change).
CONTROL_ROOM = (
    ("Dashboard", "core:dashboard"),
    ("Live", "core:live"),
    ("Activity", "core:activity"),
    ("Agents", "core:agents"),
    ("Usage", "core:usage"),
)
#: A reseller workspace's own pages (its clients), after the vendors.
RESELLER = (
    ("Clients", "provisioning:clients"),
    ("Seats per client", "core:client_seats"),
)
#: Pages that exist only in a reseller workspace (they answer 404 elsewhere).
RESELLER_ONLY = frozenset(name for _label, name in RESELLER)
#: Operations, last; each link shows only to roles its view lets in.
OPERATIONS = (
    ("Vendor accounts", "core:account_list"),
    ("Sync runs", "core:run_list"),
    ("Reports", "reports:definitions"),
    ("Outbox", "reports:outbox"),
    ("Alerts", "alerts:list"),
)
#: The cookie that remembers the account picked per vendor: `<prefix><vendor slug>`.
ACCOUNT_COOKIE_PREFIX = "nav_account_"

_MISSING = object()
_links: dict[tuple, tuple[str, str] | None] = {}


def _plain_link(name: str, where: tuple | None = None) -> tuple[str, str] | None:
    """(url, least role) of a URL name without arguments, or None when the name is
    not defined; cached per URLconf and script prefix like urlcache's patterns
    (`where`: that pair, when the caller looks up several names)."""
    key = (*(where or (get_urlconf(), get_script_prefix())), name)
    found = _links.get(key, _MISSING)
    if found is _MISSING:
        try:
            url = url_for(name)
        except NoReverseMatch:
            found = None
        else:
            view = resolve(url[len(get_script_prefix()) - 1 :] or "/").func
            found = (url, getattr(view, "min_role", None) or Role.AGENT)
        _links[key] = found
    return found


def _section(request, entries, rank: int) -> list[dict]:
    view_name = getattr(request.resolver_match, "view_name", None)
    items = []
    reseller = request.workspace.is_reseller
    where = (get_urlconf(), get_script_prefix())  # once, not once per name
    for label, name in entries:
        if not reseller and name in RESELLER_ONLY:
            continue
        link = _plain_link(name, where)
        if link is None or ROLE_RANK[link[1]] > rank:
            continue
        items.append({"label": label, "url": link[0], "active": view_name == name})
    return items


def _picked(request, spec, accounts):
    """The account a vendor group shows: the one the page is about, else the one
    remembered in the cookie, else the first."""
    match = request.resolver_match
    if match is not None and match.namespace == spec.slug:
        current = match.kwargs.get("account_id")
        for account in accounts:
            if account.pk == current:
                return account, True
    raw = request.COOKIES.get(ACCOUNT_COOKIE_PREFIX + spec.slug, "")
    if raw.isdigit():
        for account in accounts:
            if account.pk == int(raw):
                return account, False
    return accounts[0], False


def _vendor_group(request, spec, accounts, rank: int) -> dict:
    workspace = request.workspace
    picked, from_page = _picked(request, spec, accounts)
    links = []
    for item in spec.nav:
        if ROLE_RANK[item.min_role] > rank:
            continue
        if item.reseller_only and not workspace.is_reseller:
            continue
        try:
            pattern = url_pattern(item.url_name, "account_id")
        except NoReverseMatch:
            continue
        url = pattern.format(account_id=picked.pk)
        links.append(
            {
                "label": item.label,
                "url": url,
                # The picker's script swaps the account id into this (portal.js).
                "pattern": pattern,
                "active": request.path == url,
            }
        )
    return {
        "spec": spec,
        "accounts": accounts,
        "account": picked,
        "from_page": from_page,
        "cookie": ACCOUNT_COOKIE_PREFIX + spec.slug,
        "links": links,
    }


def portal(request) -> dict:
    user = getattr(request, "user", None)
    workspace = getattr(request, "workspace", None)
    if not user or not user.is_authenticated:
        return {}
    if workspace is None:
        return {"shell": Shell(request, {})}
    rank = ROLE_RANK.get(request.role, 0)
    # No query of its own on account pages: the view already read the accounts.
    accounts = [a for a in workspace_accounts(request) if a.enabled]
    vendor_nav = []
    for spec in registry.all_vendors():
        mine = [a for a in accounts if a.vendor == spec.slug]
        if mine:
            vendor_nav.append(_vendor_group(request, spec, mine, rank))
    nav = {
        "nav_control": _section(request, CONTROL_ROOM, rank),
        "nav_vendors": vendor_nav,
        "nav_reseller": _section(request, RESELLER, rank)
        if workspace.is_reseller
        else [],
        "nav_operations": _section(request, OPERATIONS, rank),
        "nav_workspaces": getattr(request, "open_workspaces", None)
        or workspaces_for(user).order_by("name"),
        "role_rank": rank,
    }
    return {**nav, "shell": Shell(request, nav)}
