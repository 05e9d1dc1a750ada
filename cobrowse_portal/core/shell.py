"""The shell's per-user parts (sidebar body, workspace switcher, user menu),
written in Python.

Through the template engine these cost about as much CPU as a whole list page's
rows: dozens of `{% for %}`/`{% if %}` nodes, a `reverse()` per `{% url %}`, on
every request. Here they are string formatting over the context processor's nav
data (`context_processors.portal`), escaped as the template escaped them
(`tests/core/test_shell.py` renders the old template beside this). Nothing here is
cached across requests: the switcher and the log-out form carry this request's
CSRF token. While `core.pagecache` renders a page to keep, both parts are holes
it fills per answer.
"""

from __future__ import annotations

from django.middleware.csrf import get_token
from django.utils.functional import cached_property
from django.utils.safestring import SafeString

from . import pagecache
from .fasthtml import esc
from .urlcache import url_for

CURRENT = ' aria-current="page"'


def _links(items, *, pattern: bool = False) -> str:
    out = []
    for link in items:
        active = link["active"]
        extra = f' data-nav-pattern="{esc(link["pattern"])}"' if pattern else ""
        out.append(
            f'<li><a href="{esc(link["url"])}"{extra} class="nav-link'
            f'{" active" if active else ""}"'
            f"{CURRENT if active else ''}>"
            f"{esc(link['label'])}</a></li>"
        )
    return "".join(out)


def _plain_group(group_id: str, head: str, items) -> str:
    return (
        f'\n      <div class="nav-group" id="{group_id}">\n'
        f'        <div class="nav-head">{head}</div>\n'
        f'        <ul class="nav flex-column">\n          {_links(items)}\n'
        "        </ul>\n      </div>"
    )


def _vendor_group(group) -> str:
    slug = esc(group["spec"].slug)
    label = esc(group["spec"].label)
    account = group["account"]
    if len(group["accounts"]) > 1:
        options = "".join(
            f'<option value="{esc(a.pk)}"'
            f"{' selected' if a.pk == account.pk else ''}>{esc(a.name)}</option>"
            for a in group["accounts"]
        )
        remember = " data-nav-remember" if group["from_page"] else ""
        picker = (
            f'<label for="nav-account-{slug}" class="visually-hidden">{label} '
            "account</label>\n"
            f'        <select class="form-select form-select-sm nav-account" '
            f'id="nav-account-{slug}" data-nav-account{remember}>\n'
            f"          {options}\n        </select>"
        )
    else:
        picker = f'<div class="nav-sub">{esc(account.name)}</div>'
    return (
        f'\n      <div class="nav-group nav-vendor" id="nav-{slug}" '
        f'data-nav-vendor="{slug}" data-nav-cookie="{esc(group["cookie"])}">\n'
        f'        <div class="nav-head">{label}</div>\n'
        f"        {picker}\n"
        f'        <ul class="nav flex-column">\n'
        f"          {_links(group['links'], pattern=True)}\n"
        "        </ul>\n      </div>"
    )


def _csrf_input(request) -> str:
    return (
        '<input type="hidden" name="csrfmiddlewaretoken" '
        f'value="{esc(get_token(request))}">'
    )


class Shell:
    """`{{ shell.sidebar }}` and `{{ shell.topbar }}` in `_base.html`; computed
    only when a full page renders them (an htmx fragment never does)."""

    def __init__(self, request, nav: dict):
        self.request = request
        self.nav = nav

    @cached_property
    def sidebar(self) -> SafeString:
        if pagecache.capturing(self.request):
            return pagecache.hole(self.request, "sidebar", self._sidebar)
        return self._sidebar()

    def _sidebar(self) -> SafeString:
        nav = self.nav
        if not nav:
            return SafeString("")
        parts = ['<div class="sidebar-body">']
        if nav["nav_control"]:
            parts.append(
                _plain_group("nav-control", "Control room", nav["nav_control"])
            )
        parts.extend(_vendor_group(group) for group in nav["nav_vendors"])
        if nav.get("nav_reseller"):
            parts.append(_plain_group("nav-reseller", "Reseller", nav["nav_reseller"]))
        if nav["nav_operations"]:
            parts.append(
                _plain_group("nav-operations", "Operations", nav["nav_operations"])
            )
        parts.append("\n    </div>")
        return SafeString("".join(parts))

    @cached_property
    def topbar(self) -> SafeString:
        if pagecache.capturing(self.request):
            return pagecache.hole(self.request, "topbar", self._topbar)
        return self._topbar()

    def _topbar(self) -> SafeString:
        request, user = self.request, self.request.user
        parts = []
        workspaces = self.nav.get("nav_workspaces") if self.nav else None
        if workspaces:
            current = getattr(request.workspace, "pk", None)
            options = "".join(
                f'\n              <option value="{esc(ws.pk)}" '
                f"{'selected' if ws.pk == current else ''}>{esc(ws.name)}"
                f"{' ↳' if ws.parent_id else ''}</option>\n            "
                for ws in workspaces
            )
            parts.append(
                f'<form method="post" action="{esc(url_for("core:switch_workspace"))}"'
                ' class="switcher" id="workspace-switcher">\n'
                f"          {_csrf_input(request)}\n"
                '          <label for="ws-select" class="visually-hidden">Workspace'
                "</label>\n"
                '          <select name="workspace" id="ws-select" '
                'class="form-select form-select-sm" data-autosubmit>\n'
                f"            {options}\n          </select>\n"
                '          <noscript><button type="submit" class="btn small">Switch'
                "</button></noscript>\n        </form>\n        "
            )
        role = getattr(request, "role", None)
        password_url = esc(url_for("password_change"))
        admin = (
            f'<a class="dropdown-item" href="{esc(url_for("admin:index"))}">'
            "Django admin</a>"
            if user.is_superuser
            else ""
        )
        parts.append(
            '<div class="dropdown usermenu">\n'
            '          <button type="button" class="btn btn-light btn-sm '
            'dropdown-toggle" data-bs-toggle="dropdown" aria-expanded="false">'
            f"{esc(user.get_username())}{f' · {esc(role)}' if role else ''}</button>\n"
            '          <div class="dropdown-menu dropdown-menu-end">\n'
            f'            <a class="dropdown-item" href="{password_url}">'
            "Change password</a>\n"
            f"            {admin}\n"
            f'            <form method="post" action="{esc(url_for("logout"))}">'
            f'{_csrf_input(request)}<button type="submit" class="dropdown-item">'
            "Log out</button></form>\n"
            "          </div>\n        </div>"
        )
        return SafeString("".join(parts))
