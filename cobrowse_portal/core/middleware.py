"""Per-request workspace and role, and `Vary: HX-Request` on every answer."""

from __future__ import annotations

from django.utils.cache import patch_vary_headers

from .models import Workspace, effective_role, workspaces_for

SESSION_KEY = "workspace_id"


class WorkspaceMiddleware:
    """Sets `request.workspace` and `request.role` from the session's choice.

    The choice is re-checked against memberships on every request, so a removed
    membership takes effect at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace, request.role = None, None
        if request.user.is_authenticated:
            chosen = request.session.get(SESSION_KEY)
            workspace = None
            if chosen:
                workspace = workspaces_for(request.user).filter(pk=chosen).first()
            if workspace is None:
                workspace = workspaces_for(request.user).order_by("pk").first()
            if workspace is not None:
                request.workspace = workspace
                request.role = effective_role(request.user, workspace)
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
