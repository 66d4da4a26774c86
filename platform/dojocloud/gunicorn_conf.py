"""gunicorn's configuration for the web process (`gunicorn -c python:dojocloud.gunicorn_conf`).

The same file serves `make up`, the tests that start the web and the Kubernetes pods; what
differs between them comes on the command line (the address) or in gunicorn's own
`GUNICORN_CMD_ARGS` (`--workers 2 --threads 4` in the pods, whose CPU limit os.cpu_count()
does not see). Sizing, stated in the README: `workers` processes of
`threads` threads each serve at most workers x threads requests at once, and hold at most
that many database connections (one per thread, kept CONN_MAX_AGE seconds on PostgreSQL).
"""

from __future__ import annotations

import os
from typing import Any

wsgi_app = "dojocloud.wsgi:application"
# gthread: a page waits on the database most of its time, so threads share a core cheaply.
worker_class = "gthread"
# A process per core (at most 4: more only adds idle memory at this traffic), 4 threads each:
# on the 2 cores of a dev machine, 2 x 4 = 8 requests at once, 8 database connections.
workers = max(1, min(4, os.cpu_count() or 1))
threads = 4
# Slow pages (a large CSV export streams) get this long; a hung worker is replaced after it.
timeout = 60
graceful_timeout = 20
keepalive = 5
# Recycle a worker now and then, so no slow leak grows without bound (jitter: not all at once).
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# Below the terminal's default filter: devstack only echoes warnings and errors.
loglevel = "info"
# Whether a request came over HTTPS is Django's call (DJANGO_BEHIND_TLS_PROXY), never
# gunicorn's: it derives no scheme from forwarded headers.
secure_scheme_headers: dict[str, str] = {}


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges leave the multiprocess files, so /metrics, which sums every
    worker's files, does not keep reporting a process that is gone."""
    from django.conf import settings  # the settings module alone; no app is loaded here

    if settings.PROMETHEUS_MULTIPROC_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, settings.PROMETHEUS_MULTIPROC_DIR)
