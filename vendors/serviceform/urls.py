"""Serviceform's pages. None on this branch: the pages (chats, chat detail,
spaces and items, leads, statistics) come with the views (h-sf4, whose
urls.py replaces this one); the registry mounts this URLconf for every
registered vendor, so it must exist once the spec registers."""

from __future__ import annotations

app_name = "serviceform"
urlpatterns: list = []
