"""Rated ledger rows: one segment's, as a worker records it; and many, fast, for the billing page's query-count test and the billing
benchmarks: jobs made in bulk, and either the ORM's bulk_create (portable, for tests) or one
INSERT ... SELECT over a recursive CTE (a million rows in seconds, for the benchmarks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from dojocloud.billing.facade import UsageRecord
from dojocloud.jobs.facade import Job
from dojocloud.tenancy.facade import Organization

RATE = Decimal("0.012345678901")  # USD per device-second: amounts round at every step
SECONDS = 7.25  # each row's device-seconds (two devices)


def spend(job: Job, amount_micros: int, rate: str = "0.25") -> UsageRecord:
    """One finished segment's rated usage of `amount_micros`, as a worker records it."""
    now = datetime.now(UTC)
    return UsageRecord.objects.create(
        job=job,
        organization=job.organization,
        attempt=1,
        segment=0,
        pool="dojo",
        accelerator="dojo-tile",
        device_count=1,
        start_step=0,
        end_step=2,
        samples=16,
        allocated_seconds=1.0,
        device_seconds=1.0,
        wall_seconds=1.0,
        started_at=now,
        ended_at=now,
        billed_basis="modelled",
        billed_micros=1_000_000,
        rate_kind="on_demand",
        rate=rate,
        amount_micros=amount_micros,
        period=now.date().replace(day=1),
    )


def make_jobs(org: Organization, count: int, prefix: str = "bulk") -> list[str]:
    jobs = Job.objects.bulk_create(
        Job(organization=org, name=f"{prefix}-{i}", spec={}, state="SUCCEEDED")
        for i in range(count)
    )
    return [j.id for j in jobs]


def _ended(month: date, segment: int) -> datetime:
    # Spread over the month's first 28 days, so the page's chart has every day to draw.
    return datetime(month.year, month.month, 1, tzinfo=UTC) + timedelta(
        minutes=40 * segment % 40320
    )


def orm_rows(org: Organization, job_ids: list[str], per_job: int, month: date) -> int:
    micros = int(2 * SECONDS * 1_000_000)
    amount = int(RATE * micros)
    rows = [
        UsageRecord(
            job_id=job_id,
            organization=org,
            attempt=1,
            segment=s,
            pool="dojo" if s % 3 else "gpu-a100",
            accelerator="dojo-tile",
            device_count=2,
            start_step=s * 10,
            end_step=s * 10 + 10,
            samples=80,
            allocated_seconds=2 * SECONDS,
            device_seconds=SECONDS,
            wall_seconds=SECONDS,
            started_at=_ended(month, s) - timedelta(seconds=SECONDS),
            ended_at=_ended(month, s),
            billed_basis="modelled",
            billed_micros=micros,
            rate_kind="on_demand",
            rate=RATE,
            amount_micros=amount,
            period=month,
        )
        for job_id in job_ids
        for s in range(per_job)
    ]
    UsageRecord.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def sql_rows(org: Organization, job_ids: list[str], per_job: int, month: date) -> int:
    """len(job_ids) x per_job rows in one statement (SQLite and PostgreSQL)."""
    micros = int(2 * SECONDS * 1_000_000)
    table = UsageRecord._meta.db_table
    values = ", ".join(["(%s)"] * len(job_ids))
    ops = connection.ops
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    ended = ops.adapt_datetimefield_value(start + timedelta(days=1))
    sql = f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %s),
        j(id) AS (VALUES {values})
        INSERT INTO {table} (job_id, organization_id, attempt, segment, pool, accelerator,
            device_count, start_step, end_step, samples, allocated_seconds, device_seconds,
            wall_seconds, started_at, ended_at, recorded_at, billed_basis, billed_micros,
            rate_kind, rate, amount_micros, price_id, period)
        SELECT j.id, %s, 1, n.i, CASE WHEN n.i %% 3 = 0 THEN 'gpu-a100' ELSE 'dojo' END,
            'dojo-tile', 2, n.i * 10, n.i * 10 + 10, 80, %s, %s, %s, %s, %s, %s,
            'modelled', %s, 'on_demand', %s, %s, NULL, %s
        FROM j CROSS JOIN n
    """
    params = [
        per_job - 1,
        *job_ids,
        org.id,
        2 * SECONDS,
        SECONDS,
        SECONDS,
        ops.adapt_datetimefield_value(start),
        ended,
        ended,
        micros,
        ops.adapt_decimalfield_value(RATE, 24, 12),
        int(RATE * micros),
        ops.adapt_datefield_value(month),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(job_ids) * per_job
