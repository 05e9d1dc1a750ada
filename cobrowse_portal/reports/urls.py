from __future__ import annotations

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.definition_list, name="definitions"),
    path("new/", views.definition_create, name="definition_new"),
    path("<int:definition_id>/", views.definition_runs, name="definition"),
    path("<int:definition_id>/edit/", views.definition_edit, name="definition_edit"),
    path(
        "<int:definition_id>/delete/", views.definition_delete, name="definition_delete"
    ),
    path("<int:definition_id>/preview/", views.preview, name="preview"),
    path("<int:definition_id>/send/", views.send_now, name="send_now"),
    path("runs/<int:report_run_id>/", views.run_detail, name="run"),
    path("runs/<int:report_run_id>/csv/", views.run_csv, name="run_csv"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:message_id>/", views.outbox_message, name="outbox_message"),
]
