"""Serviceform Public API 1.0.1, mounted at /sandbox/serviceform/ (the API
root: paths as the docs, e.g. …/flex/spaces).

Every path answers through the same guard (api.route); an unknown path is a
404 once the key is accepted.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import views
from .api import route

urlpatterns = [
    path("flex/spaces", route(GET=views.list_spaces)),
    path(
        "flex/spaces/<str:space_id>/items",
        route(GET=views.list_items, POST=views.create_item),
    ),
    path(
        "flex/spaces/<str:space_id>/items/<str:item_id>",
        route(GET=views.get_item, PUT=views.update_item, DELETE=views.delete_item),
    ),
    # The leads section documents 401 for an invalid key (the others 403).
    path("leads", route(auth_status=401, GET=views.list_leads)),
    path("chats", route(POST=views.list_chats)),
    path("statistics/chat", route(GET=views.chat_statistics)),
    re_path(
        r"^(?P<rest>.*)$",
        route(
            GET=views.unknown,
            POST=views.unknown,
            PUT=views.unknown,
            DELETE=views.unknown,
        ),
    ),
]
