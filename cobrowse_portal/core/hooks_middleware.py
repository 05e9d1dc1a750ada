"""Vendor webhook deliveries skip the page middleware.

A POST to /hooks/<account id>/<token>/ needs none of what a page needs (session,
user, CSRF, messages, login throttling, workspace, CSP nonce, htmx): the
per-account token is its only credential. Placed right after Django's
SecurityMiddleware (so HTTPS redirects and its headers still apply), this answers
such a request itself, through the same code as the view. Every other request,
and any other method on that path (405 from the view), takes the full stack.
"""

from __future__ import annotations

import re

from django.urls.resolvers import RoutePattern

from cobrowse_portal.vendorkit.webhooks import ROUTE

from .views.hooks import answer


def hook_path_pattern() -> re.Pattern:
    """The regex of the hooks route (as the URL resolver matches it), anchored
    on the whole path: `/hooks/<int>/<one segment>/` and nothing else."""
    regex = RoutePattern(ROUTE, is_endpoint=True).regex.pattern
    return re.compile("^/" + regex.removeprefix("^"))


class WebhookIntakeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.match = hook_path_pattern().match

    def __call__(self, request):
        if request.method == "POST":
            found = self.match(request.path_info)
            if found is not None:
                # ALLOWED_HOSTS, as CommonMiddleware would check it (a
                # DisallowedHost becomes a 400, as on every other URL).
                request.get_host()
                return answer(int(found["account_id"]), found["token"], request)
        return self.get_response(request)
