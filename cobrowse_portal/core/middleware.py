"""Per-request workspace and role, and `Vary: HX-Request` on every answer."""

from __future__ import annotations

from django.utils.cache import patch_vary_headers

from .models import Workspace, open_workspaces

SESSION_KEY = "workspace_id"


class WorkspaceMiddleware:
    """Sets `request.workspace` and `request.role` from the session's choice.

    The choice is re-checked against memberships on every request, so a removed
    membership takes effect at once. One query answers it all: every workspace
    the user can open with the user's roles there (also the switcher's list,
    `request.open_workspaces`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace, request.role, request.open_workspaces = None, None, []
        if request.user.is_authenticated:
            opened = open_workspaces(request.user)
            request.open_workspaces = [ws for ws, _ in opened]
            chosen = request.session.get(SESSION_KEY)
            found = [(ws, role) for ws, role in opened if ws.pk == chosen]
            if not found and opened:
                found = [min(opened, key=lambda pair: pair[0].pk)]
            if found:
                request.workspace, request.role = found[0]
        return self.get_response(request)


def switch_workspace(request, workspace: Workspace) -> None:
    request.session[SESSION_KEY] = workspace.pk


class VaryOnHtmxMiddleware:
    """One URL answers a full page or a fragment, so caches must key on HX-Request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        return response
