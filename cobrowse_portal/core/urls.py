from __future__ import annotations

from django.urls import path

from .views import (
    accounts,
    control,
    control_agents,
    control_usage,
    dashboard,
    runs,
    seats,
)

app_name = "core"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("workspace/switch/", dashboard.switch, name="switch_workspace"),
    # The control room: cross-vendor pages over the local index.
    path("live/", control.live, name="live"),
    path("activity/", control.activity, name="activity"),
    path("activity/export.csv", control.activity_csv, name="activity_csv"),
    path("agents/", control_agents.agents, name="agents"),
    path("agents/link/", control_agents.agent_link, name="agent_link"),
    path("agents/unlink/", control_agents.agent_unlink, name="agent_unlink"),
    path("usage/", control_usage.usage, name="usage"),
    path("usage/export.csv", control_usage.usage_csv, name="usage_csv"),
    path("clients/seats/", seats.seats, name="client_seats"),
    path("clients/seats/export.csv", seats.seats_csv, name="client_seats_csv"),
    path("accounts/", accounts.account_list, name="account_list"),
    path("accounts/add/", accounts.account_add, name="account_add"),
    path("accounts/test/", accounts.account_test, name="account_test_new"),
    path("accounts/<int:account_id>/", accounts.account_detail, name="account_detail"),
    path("accounts/<int:account_id>/edit/", accounts.account_edit, name="account_edit"),
    path(
        "accounts/<int:account_id>/toggle/",
        accounts.account_toggle,
        name="account_toggle",
    ),
    path(
        "accounts/<int:account_id>/delete/",
        accounts.account_delete,
        name="account_delete",
    ),
    path("accounts/<int:account_id>/test/", accounts.account_test, name="account_test"),
    path("accounts/<int:account_id>/sync/", accounts.account_sync, name="account_sync"),
    path(
        "accounts/<int:account_id>/sync/progress/",
        accounts.sync_progress,
        name="sync_progress",
    ),
    path(
        "accounts/<int:account_id>/schedules/<slug:stream>/",
        accounts.account_schedule,
        name="account_schedule",
    ),
    path(
        "accounts/<int:account_id>/pending/<int:pk>/<slug:action>/",
        accounts.pending_write,
        name="pending_write",
    ),
    path("runs/", runs.run_list, name="run_list"),
    path("runs/<int:run_id>/", runs.run_detail, name="run_detail"),
]
