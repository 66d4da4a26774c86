"""The operators' console over a whole ExaPOD (120 tiles, 10 cabinets) and a thousand further
GPU nodes (tests/support/fleet.py: ~8,900 devices, three tenants holding ~40% of them, half
their jobs allocated but idle), in a temporary SQLite database.

console_heatmap_ms  median ms to render /console/ (the heat map by state, by tenant and by
                    idle, with the per-tenant table) through Django's test client, and the
                    queries one page takes. The target is under a second.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.report import bench

ROUNDS = 5


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="dojo-bench-console-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{base / 'console.sqlite3'}"
    os.environ["DOJO_DATA_DIR"] = str(base)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from tests.support import fleet

    setup_test_environment()  # the test client's response capture, as in the tests
    settings.CREATE_JOB_RATE = 0
    call_command("migrate", verbosity=0)
    built = fleet.build()
    client = Client()
    client.force_login(User.objects.create_user("ops", is_staff=True, is_superuser=True))
    timings: dict[str, float] = {}
    for mode in ("state", "tenant", "idle"):
        url = f"/console/?map={mode}"
        client.get(url)  # warm: templates compiled, caches filled
        samples = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        timings[mode] = statistics.median(samples)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/console/").content
    bench(
        "console_heatmap_ms",
        max(timings.values()),
        "ms",
        baseline=1000.0,
        by_mode_ms={m: round(v, 1) for m, v in timings.items()},
        queries=len(queries),
        devices=built.devices,
        gpu_nodes=built.gpu_nodes,
        tiles=built.tiles,
        page_bytes=len(page),
    )
