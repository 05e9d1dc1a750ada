"""Celery task of scheduled reports: one beat entry per definition calls it."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="reports.run_report", acks_late=True)
def run_report(definition_id: int) -> str:
    from .engine import run_scheduled

    return run_scheduled(definition_id)
