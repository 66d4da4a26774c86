"""The portal's job list with a busy organization, in a temporary SQLite database.

portal_job_list  p95 ms of GET /jobs/ (the first page: 25 rows, the live refresh's markup)
                 through Django's test client with 10,000 jobs in the organization, and the
                 queries one page takes. Baseline: the same page's p95 for an organization
                 of 100 jobs, measured in the same run; the ratio shows how the page scales
                 with the jobs it does not show (1.0: not at all). The query counts at both
                 sizes are reported beside it (tests/integration/portal/
                 test_portal_job_list_queries.py holds them equal).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks.report import bench

ROUNDS = 40
JOBS = 10_000
BASELINE_JOBS = 100


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="dojo-bench-portal-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{base / 'portal.sqlite3'}"
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

    from dojocloud.tenancy import services as tenancy
    from tests.support import many_jobs

    setup_test_environment()
    settings.CREATE_JOB_RATE = 0
    call_command("migrate", verbosity=0)

    def measure(slug: str, jobs: int) -> tuple[float, int]:
        user = User.objects.create_user(f"{slug}-owner")
        tenancy.create_organization(slug, slug.title(), user)
        many_jobs.fill(tenancy.principal_for_user(user, slug), jobs)
        client = Client()
        client.force_login(user)
        client.get("/jobs/")  # warm: templates compiled, the session read
        samples = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            response = client.get("/jobs/")
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get("/jobs/")
        return _p95(samples), len(queries)

    small_p95, small_queries = measure("small", BASELINE_JOBS)
    large_p95, large_queries = measure("busy", JOBS)
    bench(
        "portal_job_list",
        large_p95,
        "ms",
        baseline=small_p95,
        jobs=JOBS,
        baseline_jobs=BASELINE_JOBS,
        queries=large_queries,
        baseline_queries=small_queries,
        rounds=ROUNDS,
    )
