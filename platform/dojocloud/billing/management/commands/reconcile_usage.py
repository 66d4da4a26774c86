"""manage.py reconcile_usage: the usage ledger against Prometheus; exit 1 on a mismatch.

`--prometheus-url` names the server, by default settings.PROMETHEUS_URL (DOJO_PROMETHEUS_URL,
http://127.0.0.1:9090, where `make up` starts Prometheus); see dojocloud.billing.reconcile
for how counter restarts are handled.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dojocloud.billing.reconcile import (
    PrometheusError,
    ReconcileReport,
    Tolerance,
    parse_duration,
    reconcile,
)


class Command(BaseCommand):
    help = "Compare ledger usage per organization and pool with Prometheus's usage counters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prometheus-url", default=settings.PROMETHEUS_URL, help="default DOJO_PROMETHEUS_URL"
        )
        parser.add_argument(
            "--window", default=None, help="a Prometheus duration (24h, 7d); default: all history"
        )
        parser.add_argument(
            "--tolerance",
            type=float,
            default=Tolerance.absolute,
            help="absolute tolerance in seconds",
        )
        parser.add_argument(
            "--settle",
            type=float,
            default=30.0,
            help="seconds of recent ledger rows that may not be scraped yet",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        window = options["window"]
        if window:
            try:
                parse_duration(window)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        try:
            report = reconcile(
                options["prometheus_url"],
                window=window,
                tolerance=Tolerance(absolute=options["tolerance"]),
                settle_seconds=options["settle"],
            )
        except PrometheusError as exc:
            raise CommandError(f"cannot query Prometheus: {exc}") from exc
        self.stdout.write(render(report))
        if not report.ok:
            raise CommandError(f"{len(report.mismatches)} mismatch(es)", returncode=1)


def render(report: ReconcileReport) -> str:
    head = (
        "organization",
        "pool",
        "ledger alloc s",
        "prom alloc s",
        "ledger dev s",
        "prom dev s",
        "ledger USD",
        "prom USD",
        "status",
    )
    rows = [
        (
            ln.organization,
            ln.pool,
            f"{ln.ledger.allocated_seconds:.3f}",
            f"{ln.prometheus.allocated_seconds:.3f}",
            f"{ln.ledger.device_seconds:.3f}",
            f"{ln.prometheus.device_seconds:.3f}",
            f"{ln.ledger.cost_usd:.6f}",
            f"{ln.prometheus.cost_usd:.6f}",
            ln.status,
        )
        for ln in report.lines
    ]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
    period = f"last {report.window}" if report.window else "all retained history"
    lines.append(
        f"{len(report.lines)} pair(s), {len(report.mismatches)} mismatch(es); "
        f"{period}, evaluated {report.evaluated_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    lines += [
        f"  {ln.organization}/{ln.pool}: {ln.status}: {ln.reason}"
        for ln in report.lines
        if ln.status != "ok"
    ]
    return "\n".join(lines)
