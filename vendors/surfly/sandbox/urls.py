"""Surfly REST API v2 paths, mounted at /sandbox/surfly/ (so /sandbox/surfly/v2/…).

Every path ends in a slash except `/servers`, as in Surfly's spec. Anything
else under v2/ answers the JSON 404 (through the same guard as the rest).
Screenshot images are served beside the API, at screenshots/<session_id>.png.
"""

from __future__ import annotations

from django.urls import path, re_path

from .api import not_found, route, surfly_api
from .views import agents, clients, company, history, sessions, webhooks

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@surfly_api()
def unknown(request, _company, **kwargs):
    """Any other path: DRF's 404 body."""
    raise not_found()


urlpatterns = [
    path(
        "v2/agents/",
        route(GET=agents.list_agents, POST=agents.create_agent),
    ),
    path("v2/agents/access-token/", route(POST=agents.access_token)),
    path(
        "v2/agents/<str:agent_id>/",
        route(
            GET=agents.get_agent, PUT=agents.update_agent, DELETE=agents.delete_agent
        ),
    ),
    path(
        "v2/sessions/",
        route(GET=sessions.list_sessions, POST=sessions.create_session),
    ),
    path("v2/sessions/<str:key>/", route(GET=sessions.get_session)),
    path("v2/sessions/<str:key>/end/", route(POST=sessions.end_session)),
    path(
        "v2/sessions/<str:key>/screenshots/latest/",
        route(GET=sessions.latest_screenshot),
    ),
    path(
        "v2/sessions/<str:key>/screenshots/create/",
        route(POST=sessions.create_screenshot),
    ),
    path(
        "v2/company/options/",
        route(
            GET=company.get_options,
            POST=company.replace_options,
            PATCH=company.update_options,
            DELETE=company.reset_options,
        ),
    ),
    path(
        "v2/clients/all/",
        route(reseller=True, GET=clients.list_clients, POST=clients.create_client),
    ),
    path(
        "v2/clients/all/<str:client_key>/",
        route(
            reseller=True,
            GET=clients.get_client,
            POST=clients.set_domains,
            PUT=clients.update_client,
            DELETE=clients.delete_client,
        ),
    ),
    path("v2/history/", route(GET=history.history)),
    path(
        "v2/webhooks/",
        route(GET=webhooks.list_webhooks, POST=webhooks.create_webhook),
    ),
    path(
        "v2/webhooks/<str:webhook_id>/",
        route(
            GET=webhooks.get_webhook,
            PUT=webhooks.update_webhook,
            DELETE=webhooks.delete_webhook,
        ),
    ),
    path("v2/servers", route(auth=False, GET=company.list_servers)),
    # Where "latest screenshot" points (Surfly's own storage, in the sandbox).
    path(
        "screenshots/<str:session_id>.png",
        sessions.screenshot_image,
        name="surfly-sandbox-screenshot",
    ),
    re_path(r"^v2/", route(**dict.fromkeys(METHODS, unknown))),
]
