"""Smartsupp pages, all under one portal account: /v/smartsupp/<account_id>/…

The Smartsupp account a page works on is picked with `?sa=<pk>` (views.common),
so no URL keyword beyond `account_id` and `pk` is needed."""

from __future__ import annotations

from django.urls import path

from .views import accounts, chats, triggers, users

app_name = "smartsupp"

A = "<int:account_id>/"

urlpatterns = [
    # chats (agent role and up)
    path(f"{A}chats/", chats.chat_list, name="chats"),
    path(f"{A}chats/<int:pk>/", chats.chat_detail, name="chat"),
    # reseller workspaces only (manager and up)
    path(f"{A}accounts/", accounts.accounts, name="accounts"),
    path(f"{A}accounts/add/", accounts.account_add, name="account_add"),
    path(f"{A}accounts/<int:pk>/", accounts.account_edit, name="account_edit"),
    path(
        f"{A}accounts/<int:pk>/refresh/",
        accounts.account_refresh,
        name="account_refresh",
    ),
    path(
        f"{A}accounts/<int:pk>/delete/", accounts.account_delete, name="account_delete"
    ),
    # manager and up
    path(f"{A}users/", users.users, name="users"),
    path(f"{A}users/add/", users.user_add, name="user_add"),
    path(f"{A}users/<int:pk>/", users.user_edit, name="user_edit"),
    path(f"{A}users/<int:pk>/refresh/", users.user_refresh, name="user_refresh"),
    path(f"{A}users/<int:pk>/delete/", users.user_delete, name="user_delete"),
    path(f"{A}triggers/", triggers.triggers, name="triggers"),
    path(f"{A}triggers/add/", triggers.trigger_add, name="trigger_add"),
    path(f"{A}triggers/<int:pk>/", triggers.trigger_edit, name="trigger_edit"),
    path(
        f"{A}triggers/<int:pk>/active/", triggers.trigger_active, name="trigger_active"
    ),
    path(
        f"{A}triggers/<int:pk>/refresh/",
        triggers.trigger_refresh,
        name="trigger_refresh",
    ),
    path(
        f"{A}triggers/<int:pk>/delete/", triggers.trigger_delete, name="trigger_delete"
    ),
    path(f"{A}officehours/", triggers.officehours, name="officehours"),
]
