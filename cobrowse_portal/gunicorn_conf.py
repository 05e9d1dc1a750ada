"""gunicorn settings: production (README), `make run` (Procfile) and the webhook
benchmark all start gunicorn with `-c python:cobrowse_portal.gunicorn_conf`, so
what is measured is what runs.

gthread workers: one process per core (Python runs one thread at a time per
process), each with threads that overlap the database round trips of their
requests. On the 2-core reference machine, 2 workers x 4 threads accepted the
most webhook deliveries with the lowest p95 (README "Benchmarks"; 2 x 1, 2 x 2,
3 x 2 and 4 x 1 all did worse). Idle keep-alive connections are held by the
worker's main loop, not by a thread, so vendors' dispatchers (and the proxy) may
keep theirs open.
"""

from __future__ import annotations

import os

wsgi_app = "cobrowse_portal.wsgi"
worker_class = "gthread"
# WEB_CONCURRENCY is gunicorn's and most platforms' name for the process count.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 30
timeout = 60
graceful_timeout = 10
