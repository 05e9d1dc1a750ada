"""Upscope REST API v1.3, mounted at /sandbox/upscope/ (so …/v1.3/<path>).

Every path answers through the same guard (api.route); an unknown path under
v1.3/ is a 404 envelope once the key is accepted.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import views
from .api import route

urlpatterns = [
    path("v1.3/usage", route(GET=views.usage)),
    path("v1.3/list", route(GET=views.list_visitors)),
    path("v1.3/visitors", route(DELETE=views.delete_all)),
    path(
        "v1.3/visitors/<str:short_id>",
        route(GET=views.get_visitor, DELETE=views.delete_visitor),
    ),
    path("v1.3/visitors/<str:short_id>/watch_url", route(POST=views.watch_url)),
    path("v1.3/visitors/<str:short_id>/session", route(DELETE=views.stop_session)),
    path("v1.3/agents/lookup", route(GET=views.lookup_agent)),
    path("v1.3/cobrowsing_sessions/list", route(GET=views.list_sessions)),
    path("v1.3/onpremise/token", route(POST=views.onpremise_token)),
    re_path(
        r"^v1\.3/(?P<rest>.*)$",
        route(GET=views.unknown, POST=views.unknown, DELETE=views.unknown),
    ),
]
