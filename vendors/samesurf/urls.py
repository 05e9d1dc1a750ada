"""SameSurf pages, all under one account: /v/samesurf/<account_id>/…

The pages (running rooms, start room, scheduled rooms, history, analytics,
subscriptions) arrive with the models and sync; the client is in client.py.
"""

from __future__ import annotations

app_name = "samesurf"

urlpatterns: list = []
