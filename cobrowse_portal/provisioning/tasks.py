"""Celery tasks of provisioning: one per step (arguments are ids)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="provisioning.run_step", acks_late=True)
def run_step(step_id: int) -> str:
    """Run one provisioning step (queued by the engine, re-queued by the sweeper)."""
    from .engine import execute

    return execute(step_id)
