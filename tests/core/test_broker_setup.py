"""`manage.py broker_setup` creates the SQLAlchemy broker's queue rows up front, so
the workers and beat starting together never race to insert the same queue."""

from __future__ import annotations

import sqlite3
from io import StringIO

from celery import Celery
from django.core.management import call_command

import cobrowse_portal.celery as celery_module


def test_broker_setup_declares_both_queues_once(tmp_path, monkeypatch, settings):
    broker = tmp_path / "broker.sqlite3"
    # Celery reads CELERY_BROKER_URL from the environment before its settings (CI
    # sets Redis), and Redis' transport options would reach SQLAlchemy's engine.
    # A fresh app, so the project's own app (and its cached connections) is left
    # as it was for the tests that follow.
    monkeypatch.setenv("CELERY_BROKER_URL", f"sqla+sqlite:///{broker}")
    app = Celery("broker-setup-test")
    # The project's queues: the default one and the live one (core.routing).
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    app.conf.task_queues = settings.CELERY_TASK_QUEUES
    monkeypatch.setattr(celery_module, "app", app)
    out = StringIO()
    call_command("broker_setup", stdout=out)
    call_command("broker_setup", stdout=out)  # idempotent: a second start is fine
    rows = sqlite3.connect(broker).execute("select name from kombu_queue").fetchall()
    assert sorted(rows) == [("celery",), ("live",)]
    assert "broker ready: celery, live" in out.getvalue()
