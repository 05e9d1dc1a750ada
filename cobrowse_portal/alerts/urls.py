from __future__ import annotations

from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("settings/", views.alert_settings, name="settings"),
    path("<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
]
