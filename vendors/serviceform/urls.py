"""Serviceform pages, all under one account: /v/serviceform/<account_id>/…"""

from __future__ import annotations

from django.urls import path

from .views import chats, spaces

app_name = "serviceform"

A = "<int:account_id>/"

urlpatterns = [
    # chats (agents and up; the activity index links to `chat` by the row's pk)
    path(f"{A}chats/", chats.chat_list, name="chats"),
    path(f"{A}chats/<int:pk>/", chats.chat_detail, name="chat"),
    path(f"{A}chats/<int:pk>/refresh/", chats.chat_refresh, name="chat_refresh"),
    # flex spaces and their items (managers: writes at Serviceform)
    path(f"{A}spaces/", spaces.space_list, name="spaces"),
    path(f"{A}spaces/<int:space_pk>/items/", spaces.space_items, name="space_items"),
    path(f"{A}spaces/<int:space_pk>/items/new/", spaces.item_new, name="item_new"),
    path(f"{A}items/<int:pk>/edit/", spaces.item_edit, name="item_edit"),
    path(f"{A}items/<int:pk>/refresh/", spaces.item_refresh, name="item_refresh"),
    path(f"{A}items/<int:pk>/delete/", spaces.item_delete, name="item_delete"),
    # leads and statistics (managers)
    path(f"{A}leads/", chats.lead_list, name="leads"),
    path(f"{A}statistics/", chats.statistics, name="statistics"),
]
