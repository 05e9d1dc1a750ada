from __future__ import annotations

app_name = "surfly"

urlpatterns: list = []
