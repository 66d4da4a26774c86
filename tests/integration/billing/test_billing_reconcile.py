"""Usage reconciliation: the pure comparison (table-driven), then a real Prometheus server
scraping a real Celery worker that records a job's segments, restarts with its counters at
zero, and a ledger row that no counter saw."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from devstack import REPO, Ports, Stack, free_port, worker_argv
from dojocloud.billing.reconcile import (
    ReconcileReport,
    Series,
    Tolerance,
    Usage,
    compare,
    counter_increase,
    parse_duration,
    prometheus_usage,
)

# -- the pure comparison --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("7d", 604800),
        ("1w", 604800),
        ("500ms", 0.5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "1h 2m", "0s", "-5m", "5x"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("samples", "start", "expected"),
    [
        # Born at zero: the first sample is usage too (increase() would report 7 here).
        ([(10, 3.0), (20, 5.0), (30, 10.0)], None, 10.0),
        # A restart: the value after the drop is usage since the restart.
        ([(10, 4.0), (20, 9.0), (30, 2.0), (40, 6.0)], None, 15.0),
        ([(10, 4.0), (20, 9.0), (30, 0.0), (40, 0.0)], None, 9.0),
        # A window: the last sample at or before the start is the baseline.
        ([(10, 4.0), (20, 9.0), (30, 12.0)], 20, 3.0),
        ([(10, 4.0), (20, 9.0), (30, 12.0)], 25, 3.0),
        ([(10, 4.0), (20, 9.0), (30, 1.0)], 15, 6.0),
        # A series born inside the window counts from zero.
        ([(30, 4.0), (40, 6.0)], 20, 6.0),
        # Order of samples does not matter; no samples, no usage.
        ([(30, 10.0), (10, 3.0), (20, 5.0)], None, 10.0),
        ([], None, 0.0),
    ],
)
def test_counter_increase(
    samples: list[tuple[float, float]], start: float | None, expected: float
) -> None:
    assert counter_increase(samples, start) == pytest.approx(expected)


def test_prometheus_usage_sums_series_of_all_instances_by_org_and_pool() -> None:
    alloc, dev = "dojo_usage_allocated_seconds_total", "dojo_usage_device_seconds_total"
    usd = "dojo_usage_cost_usd_total"
    series = [
        Series(alloc, "acme", "dojo", [(1, 5.0), (2, 8.0)]),  # worker 1
        Series(alloc, "acme", "dojo", [(1, 2.0)]),  # worker 2, same labels
        Series(dev, "acme", "dojo", [(1, 1.5)]),
        Series(usd, "acme", "dojo", [(1, 0.25), (2, 0.1)]),  # a restart: 0.25 + 0.1
        Series(alloc, "acme", "gpu-a100", [(1, 16.0)]),
        Series("dojo_segments_total", "acme", "dojo", [(1, 99.0)]),  # not a usage counter
    ]
    assert prometheus_usage(series, None) == {
        ("acme", "dojo"): Usage(10.0, 1.5, 0.35),
        ("acme", "gpu-a100"): Usage(16.0, 0.0),
    }


K = ("acme", "dojo")


@pytest.mark.parametrize(
    ("ledger", "prom", "pending", "status"),
    [
        (Usage(100.0, 10.0), Usage(100.0, 10.0), Usage(), "ok"),
        (Usage(100.0, 10.0), Usage(100.0 + 1e-9, 10.0), Usage(), "ok"),  # float sums
        (Usage(100.0, 10.0), Usage(80.0, 10.0), Usage(), "mismatch"),  # lost increments
        (Usage(100.0, 10.0), Usage(100.0, 9.0), Usage(), "mismatch"),  # device seconds too
        (Usage(100.0, 10.0), Usage(80.0, 8.0), Usage(20.0, 2.0), "pending"),  # not scraped yet
        (Usage(100.0, 10.0), Usage(70.0, 7.0), Usage(20.0, 2.0), "mismatch"),  # more than recent
        (Usage(100.0, 10.0), Usage(120.0, 12.0), Usage(20.0, 2.0), "mismatch"),  # no ledger row
        # Cost, to the micro-dollar: a segment may cost less than a cent.
        (Usage(100.0, 10.0, 0.5), Usage(100.0, 10.0, 0.5 + 1e-12), Usage(), "ok"),
        (Usage(100.0, 10.0, 0.5), Usage(100.0, 10.0, 0.4996), Usage(), "mismatch"),
        (Usage(100.0, 10.0, 0.5), Usage(80.0, 8.0, 0.4), Usage(20.0, 2.0, 0.1), "pending"),
    ],
)
def test_compare(ledger: Usage, prom: Usage, pending: Usage, status: str) -> None:
    (line,) = compare({K: ledger}, {K: prom}, {K: pending}, Tolerance())
    assert (line.organization, line.pool, line.status) == ("acme", "dojo", status)
    assert (line.reason == "") == (status == "ok")


def test_compare_reports_a_pair_seen_on_one_side_only() -> None:
    lines = compare(
        {("a", "dojo"): Usage(5.0, 1.0)}, {("b", "gpu-h100"): Usage(3.0, 1.0)}, {}, Tolerance()
    )
    assert [(ln.organization, ln.pool, ln.status) for ln in lines] == [
        ("a", "dojo", "mismatch"),
        ("b", "gpu-h100", "mismatch"),
    ]
    report = ReconcileReport(lines, None, datetime.now(UTC))
    assert not report.ok and len(report.mismatches) == 2


def test_tolerance_is_absolute_or_relative() -> None:
    tol = Tolerance(absolute=0.5, relative=0.01)
    assert tol.allows(10.0, 10.4) and not tol.allows(10.0, 10.6)
    assert tol.allows(1000.0, 1009.0) and not tol.allows(1000.0, 1011.0)


# -- a real Prometheus scraping a real worker -------------------------------------------------


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = (db.get("USER") or "") + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return (
        f"postgresql://{auth + '@' if auth else ''}{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )


@dataclass
class Metered:
    """One Celery worker for the `dojo` queue on a fixed metrics port, and Prometheus."""

    env: dict[str, str]
    tmp: Path
    metrics_port: int
    stack: Stack
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def prometheus_url(self) -> str:
        assert self.stack.prometheus_url
        return self.stack.prometheus_url

    def start_worker(self) -> None:
        # A fresh multiprocess folder, as `make up` gives a restarted stack: counters at zero.
        prom = self.tmp / f"prom-{len(self.workers)}"
        prom.mkdir()
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        self.workers.append(
            subprocess.Popen(
                worker_argv("dojo", f"w{uuid.uuid4().hex[:6]}@test", alone=True),
                cwd=REPO,
                env=dict(self.env, PROMETHEUS_MULTIPROC_DIR=str(prom)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    def stop_worker(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("*.log"))
        )


@pytest.fixture
def metered(
    transactional_db: None,
    redis_url: str,
    settings,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> Iterator[Metered]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not on PATH (Debian: apt-get install prometheus)")
    from dojocloud.celery import app

    settings.REDIS_URL = redis_url
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    old_broker = app.conf.broker_url
    app.conf.broker_url = redis_url
    app._pool = None  # Celery caches pools built for the broker URL it saw first
    app.amqp._producer_pool = None
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "DOJO_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "dojocloud.settings",
        "DOJO_WORKER_METRICS_PORT": str(port),
    }
    stack = Stack(
        ports=Ports(free_port(), free_port(), free_port(), 0, free_port()),
        state_dir=tmp_path / "state",
        log_dir=tmp_path,
        scrape_interval="1s",
        worker_metrics_ports={"dojo": port},
    )
    metered = Metered(env, tmp_path, port, stack)
    try:
        stack.start_prometheus(binary)
        yield metered
    finally:
        metered.stop_worker()
        stack.stop()
        app.conf.broker_url = old_broker
        app._pool = None
        app.amqp._producer_pool = None


def _run_job(
    metered: Metered,
    principal,
    steps: int,  # type: ignore[no-untyped-def]
    interval: int,
) -> str:
    from dojocloud.jobs import services as jobs
    from dojocloud.jobs.models import Job
    from tests.support.driving import drive, tiny_spec

    job = jobs.create_job(principal, tiny_spec(steps, interval, precision="fp32"))
    # A bound, not a speed claim: a tiny job on a shared 2-core machine can take minutes.
    drive(lambda: Job.objects.get(id=job.id).is_final, metered.logs, timeout=240)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, metered.logs())
    return str(job.id)


def _settled(url: str, timeout: float = 60.0, **kwargs: object) -> ReconcileReport:
    """Reconciles until every pair agrees with nothing left to scrape (or time runs out)."""
    from dojocloud.billing.reconcile import reconcile

    deadline = time.monotonic() + timeout
    while True:
        report = reconcile(url, settle_seconds=0, **kwargs)  # type: ignore[arg-type]
        if report.lines and all(ln.status == "ok" for ln in report.lines):
            return report
        if time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def _ledger(org: str, pool: str) -> Usage:
    from django.db.models import Sum

    from dojocloud.billing.models import UsageRecord

    agg = UsageRecord.objects.filter(organization__slug=org, pool=pool).aggregate(
        a=Sum("allocated_seconds"), d=Sum("device_seconds"), m=Sum("amount_micros")
    )
    return Usage(agg["a"] or 0.0, agg["d"] or 0.0, (agg["m"] or 0) / 1_000_000)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_reconcile_against_real_prometheus(metered: Metered) -> None:
    from django.contrib.auth.models import User

    from dojocloud.billing.facade import seed_prices
    from dojocloud.billing.models import UsageRecord
    from dojocloud.billing.reconcile import reconcile
    from dojocloud.tenancy.services import create_organization, principal_for_user

    seed_prices()  # an earlier transactional test's flush took the migration's seed with it
    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    principal = principal_for_user(alice)
    url = metered.prometheus_url

    metered.start_worker()
    # Eight segments: under CPU contention one cold segment of the second job must still stay
    # well below the first job's total (the restart check below relies on it).
    first = _run_job(metered, principal, steps=80, interval=10)
    # Right after the job, rows not yet scraped are pending, never a mismatch.
    assert reconcile(url, settle_seconds=300).ok
    report = _settled(url)
    (line,) = report.lines
    assert (line.organization, line.pool, line.status) == ("acme", "dojo", "ok"), report
    assert line.ledger == _ledger("acme", "dojo") and line.ledger.allocated_seconds > 0
    assert line.prometheus.allocated_seconds == pytest.approx(line.ledger.allocated_seconds)
    # Cost too: the cost counter's increase is the rows' amounts, to the micro-dollar.
    assert line.ledger.cost_usd > 0
    assert line.prometheus.cost_usd == pytest.approx(line.ledger.cost_usd, abs=1e-6)
    assert UsageRecord.objects.filter(job_id=first).count() == 8

    time.sleep(2)  # a quiet moment: the last sample before it holds all of the first job
    quiet = time.time()

    # The worker restarts with its counters at zero; one more segment on the same series.
    # It is far shorter than the first job: a restarted counter that passes its old value
    # before it is scraped looks like no restart at all, to Prometheus as to reconcile().
    metered.stop_worker()
    metered.start_worker()
    second = _run_job(metered, principal, steps=10, interval=10)
    restarted = UsageRecord.objects.get(job_id=second).allocated_seconds
    assert restarted < _ledger("acme", "dojo").allocated_seconds - restarted, (
        "the second job outgrew the first: its restart would be invisible"
    )
    # Above the comparison's tolerance, or "ok" would hold before its scrape arrives.
    assert restarted > Tolerance().absolute, "the second job is too short to be checked"
    report = _settled(url)
    rows = [(r.job_id == second, r.allocated_seconds) for r in UsageRecord.objects.all()]
    assert [ln.status for ln in report.lines] == ["ok"], (report, rows)
    assert report.lines[0].ledger == _ledger("acme", "dojo")
    assert UsageRecord.objects.count() == 9
    # A window from the quiet moment: the restarted counter's usage is the second job's.
    window = f"{math.ceil(time.time() - quiet)}s"
    (line,) = reconcile(url, window=window, settle_seconds=0).lines
    only_second = UsageRecord.objects.get(job_id=second)
    assert line.status == "ok", line
    assert line.ledger.allocated_seconds == pytest.approx(only_second.allocated_seconds)
    assert line.prometheus.allocated_seconds == pytest.approx(only_second.allocated_seconds)

    # A ledger row that no counter saw, recorded long enough ago to have been scraped.
    UsageRecord.objects.create(
        job_id=first,
        organization_id=UsageRecord.objects.filter(job_id=first)[0].organization_id,
        attempt=1,
        segment=99,
        pool="dojo",
        accelerator="dojo-tile",
        device_count=1,
        start_step=6,
        end_step=8,
        allocated_seconds=42.0,
        device_seconds=4.0,
        wall_seconds=42.0,
        started_at=datetime.now(UTC) - timedelta(minutes=3),
        ended_at=datetime.now(UTC) - timedelta(minutes=2),
        recorded_at=datetime.now(UTC) - timedelta(minutes=2),
        # Rated as the ledger rates every row (billing.services), here by hand.
        billed_basis="modelled",
        billed_micros=4_000_000,
        rate_kind="on_demand",
        rate=Decimal("0.0001"),
        amount_micros=400,
        period=datetime.now(UTC).date().replace(day=1),
    )
    report = reconcile(url)
    (line,) = report.mismatches
    assert line.ledger.allocated_seconds - line.prometheus.allocated_seconds == (
        pytest.approx(42.0)
    )
    assert "allocated_seconds" in line.reason and not report.ok
    assert line.ledger.cost_usd - line.prometheus.cost_usd == pytest.approx(0.0004, abs=1e-9)
    assert "cost_usd" in line.reason

    # The command, as an operator runs it: the table, and exit status 1.
    res = subprocess.run(
        [sys.executable, "manage.py", "reconcile_usage"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(metered.env, DOJO_PROMETHEUS_URL=url),
    )
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "acme" in res.stdout and "mismatch" in res.stdout, res.stdout


def test_generated_prometheus_config_matches_the_reference(tmp_path: Path) -> None:
    """make up's generated config, on the default ports, is deploy/prometheus/prometheus.yml."""
    import yaml

    reference = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    stack = Stack(
        worker_metrics_ports={"dojo": 9102, "gpu-a100": 9103, "gpu-h100": 9104, "services": 9105}
    )
    generated = stack.prometheus_config()
    assert generated["scrape_configs"] == reference["scrape_configs"]
    assert generated["global"] == reference["global"]
    promtool = shutil.which("promtool")
    if promtool:  # the Debian package ships it beside prometheus
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(generated))
        res = subprocess.run(
            [promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=30
        )
        assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "yesterday"], "not a duration"),
        (["--prometheus-url", "http://127.0.0.1:{port}"], "cannot query Prometheus"),
    ],
)
def test_command_fails_loudly(args: list[str], message: str) -> None:
    from django.core.management import CommandError, call_command

    args = [a.format(port=free_port()) for a in args]  # nothing listens on a fresh port
    with pytest.raises(CommandError, match=message):
        call_command("reconcile_usage", *args)
