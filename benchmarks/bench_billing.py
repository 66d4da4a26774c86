"""Billing benchmarks, in one process on a fresh SQLite database (a temporary folder).

estimate_vs_bill  per example spec in examples/: the ratio of the billed device-seconds
                  (the ledger rows of the job run a few steps through the real segment path)
                  to the estimate's for the option it ran on; 1.0 is the Decision's promise.
invoice_build_seconds
                  rebuilding a month's draft invoice (billing.invoices.refresh_draft) over
                  1,000,000 ledger rows of 1,000 jobs (bulk-inserted in one INSERT ... SELECT):
                  the median of 3 builds, with its queries. The build is set-based: one GROUP
                  BY in the database, Python only per invoice line (2,000 here). Baseline, same
                  run: the same lines summed row by row in Python over every row.
billing_page_p95_ms
                  p95 ms of the portal's Billing page (Django's test client) with 100,000 ledger
                  rows in the organization (100 jobs), and its queries; baseline, same run: the
                  same page with 1,000 rows of the same jobs. The query count must not grow.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.report import bench

REPO = Path(__file__).resolve().parents[1]
STEPS = 4
MONTH = date(2026, 11, 1)
NOW = datetime(2026, 11, 29, tzinfo=UTC)
INVOICE_JOBS, INVOICE_ROWS_PER_JOB = 1_000, 1_000
PAGE_JOBS, PAGE_ROWS_PER_JOB, SMALL_ROWS_PER_JOB = 100, 1_000, 10
PAGE_ROUNDS = 30


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dojo-bench-billing-") as tmp:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["DOJO_DATA_DIR"] = tmp
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from dojocloud.common.inventory import inventory
        from dojocloud.scheduling import capacity
        from dojocloud.tenancy.services import create_organization, principal_for_user

        call_command("migrate", verbosity=0)
        capacity.sync_inventory(inventory())
        owner = User.objects.create_user("bench")
        create_organization("bench", "Bench", owner)
        principal = principal_for_user(owner)
        estimate_vs_bill(principal)
        invoice_build()
        billing_page()


def estimate_vs_bill(principal: Any) -> None:
    from tests.support.billing_run import bill_example

    for example in sorted((REPO / "examples").glob("*.yaml")):
        r = bill_example(principal, example, steps=STEPS)
        bench(
            f"estimate_vs_bill[{r.example}]",
            float(r.billed_device_seconds),
            "device-seconds",
            baseline=r.estimated_device_seconds,
            accelerator=r.accelerator,
            count=r.count,
            billed_usd=f"{r.billed_usd:.9f}",
            estimated_usd=round(r.estimated_usd, 9),
        )


def _organization(slug: str) -> Any:
    from django.contrib.auth.models import User

    from dojocloud.tenancy.services import create_organization

    return create_organization(slug, slug, User.objects.create_user(f"{slug}-owner"))


def _per_row_lines(org_id: int) -> dict[tuple[str, str, Decimal], int]:
    """The baseline: every row fetched and summed in Python (what a loop over rows costs)."""
    from dojocloud.billing.facade import UsageRecord

    sums: dict[tuple[str, str, Decimal], int] = defaultdict(int)
    rows = UsageRecord.objects.filter(organization_id=org_id, period=MONTH).values_list(
        "job_id", "pool", "rate", "billed_micros"
    )
    for job_id, pool, rate, micros in rows.iterator(chunk_size=10_000):
        sums[(job_id, pool, rate)] += micros
    return sums


def invoice_build() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dojocloud.billing.invoices import refresh_draft
    from tests.support.ledger_rows import make_jobs, sql_rows

    org = _organization("big-invoice")
    t0 = time.perf_counter()
    rows = sql_rows(org, make_jobs(org, INVOICE_JOBS), INVOICE_ROWS_PER_JOB, MONTH)
    insert_s = time.perf_counter() - t0
    samples = []
    for _ in range(3):
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            invoice = refresh_draft(org, MONTH, now=NOW)
        samples.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    per_row = _per_row_lines(org.id)
    baseline = time.perf_counter() - t0
    lines = invoice.lines.count()
    assert lines == len(per_row), (lines, len(per_row))
    bench(
        "invoice_build_seconds",
        statistics.median(samples),
        "s",
        baseline=baseline,
        rows=rows,
        lines=lines,
        queries=len(queries),
        total_usd=f"{invoice.total_cents / 100:.2f}",
        bulk_insert_s=round(insert_s, 2),
        baseline_is="per-row Python sum of the same lines",
    )


def _page_p95(client: Any) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/billing/?month={MONTH:%Y-%m}"
    client.get(url)  # warm: templates compiled, the draft invoice made
    samples = []
    for _ in range(PAGE_ROUNDS):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.quantiles(samples, n=20)[18], len(queries)


def billing_page() -> None:
    from django.test import Client
    from django.test.utils import setup_test_environment

    from dojocloud.billing.facade import UsageRecord
    from tests.support.ledger_rows import make_jobs, sql_rows

    setup_test_environment()
    org = _organization("big-page")
    client = Client()
    client.force_login(org.memberships.get().user)
    jobs = make_jobs(org, PAGE_JOBS)
    sql_rows(org, jobs, SMALL_ROWS_PER_JOB, MONTH)
    small_ms, small_queries = _page_p95(client)
    UsageRecord.objects.filter(organization=org).delete()
    rows = sql_rows(org, jobs, PAGE_ROWS_PER_JOB, MONTH)
    p95, queries = _page_p95(client)
    bench(
        "billing_page_p95_ms",
        p95,
        "ms",
        baseline=small_ms,
        rows=rows,
        jobs=PAGE_JOBS,
        queries=queries,
        baseline_rows=PAGE_JOBS * SMALL_ROWS_PER_JOB,
        baseline_queries=small_queries,
        rounds=PAGE_ROUNDS,
    )


if __name__ == "__main__":
    main()
