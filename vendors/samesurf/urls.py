"""SameSurf pages, all under one account: /v/samesurf/<account_id>/…"""

from __future__ import annotations

from django.urls import path

from .views import rooms, scheduled, subscriptions

app_name = "samesurf"

A = "<int:account_id>/"

urlpatterns = [
    # rooms (agent role and up)
    path(f"{A}rooms/", rooms.running, name="running"),
    path(f"{A}rooms/start/", rooms.room_start, name="room_start"),
    path(f"{A}rooms/<int:pk>/", rooms.room_detail, name="room_detail"),
    path(
        f"{A}rooms/<int:pk>/thumbnails/", rooms.room_thumbnails, name="room_thumbnails"
    ),
    path(f"{A}rooms/<int:pk>/tokens/", rooms.room_token, name="room_token"),
    path(f"{A}recordings/<int:pk>/open/", rooms.recording_open, name="recording_open"),
    path(f"{A}tokens/<int:pk>/revoke/", rooms.token_revoke, name="token_revoke"),
    path(f"{A}scheduled/", scheduled.scheduled, name="scheduled"),
    path(
        f"{A}scheduled/<int:pk>/",
        scheduled.scheduled_detail,
        name="scheduled_detail",
    ),
    path(
        f"{A}scheduled/<int:pk>/tokens/",
        scheduled.scheduled_token,
        name="scheduled_token",
    ),
    # reports (manager and up)
    path(f"{A}history/", rooms.history, name="history"),
    path(f"{A}rooms/<int:pk>/analytics/", rooms.room_analytics, name="room_analytics"),
    path(f"{A}analytics/", rooms.analytics, name="analytics"),
    # reseller workspaces only
    path(f"{A}subscriptions/", subscriptions.subscriptions, name="subscriptions"),
    path(
        f"{A}subscriptions/add/",
        subscriptions.subscription_add,
        name="subscription_add",
    ),
    path(
        f"{A}subscriptions/<int:pk>/",
        subscriptions.subscription_detail,
        name="subscription_detail",
    ),
    path(
        f"{A}subscriptions/<int:pk>/keys/",
        subscriptions.subscription_key,
        name="subscription_key",
    ),
    path(
        f"{A}subscriptions/<int:pk>/delete/",
        subscriptions.subscription_delete,
        name="subscription_delete",
    ),
]
