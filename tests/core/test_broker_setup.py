"""`manage.py broker_setup` creates the SQLAlchemy broker's queue rows up front, so
worker and beat starting together never race to insert the same queue."""

from __future__ import annotations

import sqlite3
from io import StringIO

from django.core.management import call_command

from cobrowse_portal.celery import app


def test_broker_setup_declares_the_default_queue_once(tmp_path, monkeypatch):
    broker = tmp_path / "broker.sqlite3"
    # Celery reads CELERY_BROKER_URL from the environment before its settings (CI
    # sets Redis), and Redis' transport options would reach SQLAlchemy's engine.
    monkeypatch.setenv("CELERY_BROKER_URL", f"sqla+sqlite:///{broker}")
    monkeypatch.setattr(app.conf, "broker_url", f"sqla+sqlite:///{broker}")
    monkeypatch.setitem(app.conf, "broker_transport_options", {})
    out = StringIO()
    call_command("broker_setup", stdout=out)
    call_command("broker_setup", stdout=out)  # idempotent: a second start is fine
    rows = sqlite3.connect(broker).execute("select name from kombu_queue").fetchall()
    assert rows == [("celery",)]
    assert "broker ready: celery" in out.getvalue()
