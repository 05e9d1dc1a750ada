from __future__ import annotations

from django.urls import path

from . import views

app_name = "provisioning"

urlpatterns = [
    path("", views.client_list, name="clients"),
    path("new/", views.client_new, name="client_new"),
    path("<int:client_id>/remove/", views.client_remove, name="client_remove"),
    path("runs/<int:prun_id>/", views.run_detail, name="run"),
    path("runs/<int:prun_id>/<slug:action>/", views.run_action, name="run_action"),
    path(
        "runs/<int:prun_id>/steps/<int:step_id>/<slug:action>/",
        views.step_action,
        name="step_action",
    ),
    path("offboard/<int:identity_id>/", views.offboard, name="offboard"),
]
