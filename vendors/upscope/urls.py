"""Upscope pages, all under one account: /v/upscope/<account_id>/…"""

from __future__ import annotations

from django.urls import path

from .views import sessions, visitors

app_name = "upscope"

A = "<int:account_id>/"

urlpatterns = [
    # visitors (agent role and up: watch and stop; deletes: admins)
    path(f"{A}visitors/", visitors.visitors_online, name="visitors"),
    path(f"{A}visitors/search/", visitors.visitors_search, name="visitors_search"),
    path(
        f"{A}visitors/delete-offline/",
        visitors.visitors_delete_offline,
        name="visitors_delete_offline",
    ),
    path(f"{A}visitors/<int:pk>/", visitors.visitor_detail, name="visitor_detail"),
    path(f"{A}visitors/<int:pk>/watch/", visitors.visitor_watch, name="visitor_watch"),
    path(f"{A}visitors/<int:pk>/stop/", visitors.visitor_stop, name="visitor_stop"),
    path(
        f"{A}visitors/<int:pk>/refresh/",
        visitors.visitor_refresh,
        name="visitor_refresh",
    ),
    path(
        f"{A}visitors/<int:pk>/onpremise/",
        visitors.visitor_onpremise,
        name="visitor_onpremise",
    ),
    path(
        f"{A}visitors/<int:pk>/delete/", visitors.visitor_delete, name="visitor_delete"
    ),
    # sessions (the activity index links to session_detail; the Live board's
    # End posts to session_stop)
    path(f"{A}sessions/", sessions.session_list, name="sessions"),
    path(f"{A}sessions/<int:pk>/", sessions.session_detail, name="session_detail"),
    path(f"{A}sessions/<int:pk>/stop/", sessions.session_stop, name="session_stop"),
    # reports (managers)
    path(f"{A}agents/", sessions.agents, name="agents"),
    path(f"{A}usage/", sessions.usage, name="usage"),
]
