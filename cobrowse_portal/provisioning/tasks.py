"""Celery tasks of provisioning, where Celery's autodiscovery looks: the step
task lives beside the engine that queues it (`engine.run_step`)."""

from __future__ import annotations

from .engine import run_step

__all__ = ["run_step"]
