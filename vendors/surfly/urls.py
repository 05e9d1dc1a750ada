"""Surfly pages, all under one account: /v/surfly/<account_id>/…"""

from __future__ import annotations

from django.urls import path

from .views import agents, clients, company, sessions

app_name = "surfly"

A = "<int:account_id>/"

urlpatterns = [
    # sessions (agent role and up)
    path(f"{A}live/", sessions.live, name="live"),
    path(f"{A}sessions/start/", sessions.session_start, name="session_start"),
    path(f"{A}sessions/<int:pk>/", sessions.session_detail, name="session_detail"),
    path(f"{A}sessions/<int:pk>/end/", sessions.session_end, name="session_end"),
    path(
        f"{A}sessions/<int:pk>/screenshot/",
        sessions.session_screenshot,
        name="session_screenshot",
    ),
    # manager and up
    path(f"{A}history/", sessions.history, name="history"),
    path(f"{A}history.csv", sessions.history_csv, name="history_csv"),
    path(f"{A}history/check/", sessions.sessions_check, name="sessions_check"),
    path(f"{A}agents/", agents.agents, name="agents"),
    path(f"{A}agents/add/", agents.agent_add, name="agent_add"),
    path(f"{A}agents/<int:pk>/edit/", agents.agent_edit, name="agent_edit"),
    path(f"{A}agents/<int:pk>/delete/", agents.agent_delete, name="agent_delete"),
    path(f"{A}agents/<int:pk>/availability/", agents.agent_toggle, name="agent_toggle"),
    path(f"{A}agents/<int:pk>/token/", agents.agent_token, name="agent_token"),
    path(f"{A}options/", company.options, name="options"),
    path(f"{A}options/reset/", company.options_reset, name="options_reset"),
    path(f"{A}options/copy/", company.options_copy, name="options_copy"),
    path(f"{A}webhooks/", company.webhooks, name="webhooks"),
    path(f"{A}webhooks/add/", company.webhook_add, name="webhook_add"),
    path(
        f"{A}webhooks/register/",
        company.webhooks_register,
        name="webhooks_register",
    ),
    path(f"{A}webhooks/<int:pk>/edit/", company.webhook_edit, name="webhook_edit"),
    path(
        f"{A}webhooks/<int:pk>/refresh/",
        company.webhook_refresh,
        name="webhook_refresh",
    ),
    path(
        f"{A}webhooks/<int:pk>/delete/", company.webhook_delete, name="webhook_delete"
    ),
    path(f"{A}servers/", company.servers, name="servers"),
    # reseller workspaces only
    path(f"{A}clients/", clients.clients, name="clients"),
    path(f"{A}clients/add/", clients.client_add, name="client_add"),
    path(f"{A}clients/<int:pk>/", clients.client_edit, name="client_edit"),
    path(
        f"{A}clients/<int:pk>/domains/", clients.client_domains, name="client_domains"
    ),
    path(f"{A}clients/<int:pk>/delete/", clients.client_delete, name="client_delete"),
    path(
        f"{A}clients/<int:pk>/refresh/", clients.client_refresh, name="client_refresh"
    ),
    path(
        f"{A}clients/<int:pk>/sessions/",
        clients.client_sessions,
        name="client_sessions",
    ),
]
