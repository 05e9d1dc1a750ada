"""Create the Celery broker's queues before any worker or beat starts.

The SQLAlchemy broker (the embedded default) creates its tables and queue rows
lazily, the first time a process touches a queue. When `make run` starts the
workers and beat together, two of them insert the same queue row (`celery`, or
`live`, which both workers consume) at the same moment and one dies with
`UNIQUE constraint failed: kombu_queue.name` (kombu only retries on
OperationalError). Declaring every queue of `CELERY_TASK_QUEUES` once, before the
processes start, removes the race. On Redis or AMQP declaring is harmless and
idempotent.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Declare the Celery broker's queues (run before worker and beat start)."

    def handle(self, *args, **options):
        from cobrowse_portal.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3)
            channel = conn.default_channel
            names = []
            for queue in app.amqp.queues.values():
                queue.bind(channel).declare()
                names.append(queue.name)
        self.stdout.write(f"broker ready: {', '.join(sorted(names))}")
