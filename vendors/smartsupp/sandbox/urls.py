"""Smartsupp legacy REST API, mounted at /sandbox/smartsupp/ (the API root).

The paths are the ones the PHP wrapper builds (vendor-apis.md §5.2): lists end
in a slash, verbs are the last segment. Every path answers through the same
guard (api.route); an unknown path is a 404 `NotFound` once the key is
accepted. `…/_sandbox/finished-chat` is the sandbox's own control endpoint
(not Smartsupp's): it POSTs a finished chat to the account's hook URL.
"""

from __future__ import annotations

from django.urls import path, re_path

from . import hook, views
from .api import route

A = "accounts/<str:aid>"

urlpatterns = [
    path("test", route(GET=views.test)),
    path("accounts/", route(GET=views.list_accounts)),
    path("accounts/create", route(POST=views.create_account)),
    path(f"{A}/get", route(GET=views.get_account)),
    path(f"{A}/update", route(POST=views.update_account)),
    path(f"{A}/delete", route(GET=views.delete_account)),
    path(f"{A}/users/", route(GET=views.list_users)),
    path(f"{A}/users/create", route(POST=views.create_user)),
    path(f"{A}/users/<str:uid>/get", route(GET=views.get_user)),
    path(f"{A}/users/<str:uid>/update", route(POST=views.update_user)),
    path(f"{A}/users/<str:uid>/delete", route(GET=views.delete_user)),
    path(f"{A}/triggers/", route(GET=views.list_triggers)),
    path(f"{A}/triggers/create", route(POST=views.create_trigger)),
    path(f"{A}/triggers/<str:tid>/get", route(GET=views.get_trigger)),
    path(f"{A}/triggers/<str:tid>/update", route(POST=views.update_trigger)),
    path(f"{A}/triggers/<str:tid>/delete", route(GET=views.delete_trigger)),
    path(f"{A}/officehours/update", route(POST=views.update_office_hours)),
    path(f"{A}/_sandbox/finished-chat", route(POST=hook.finished_chat_view)),
    re_path(r"^(?P<rest>.*)$", route(GET=views.unknown, POST=views.unknown)),
]
