"""Smartsupp's pages. None yet: the pages (chats, accounts, users, triggers,
office hours) come with the views; the registry mounts this URLconf for every
registered vendor."""

from __future__ import annotations

app_name = "smartsupp"
urlpatterns: list = []
