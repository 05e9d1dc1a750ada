"""Upscope's pages. None yet: the pages (visitors online, visitor detail,
sessions, usage) come with the views; the registry mounts this URLconf for
every registered vendor."""

from __future__ import annotations

app_name = "upscope"
urlpatterns: list = []
