"""Prometheus metrics of the platform, multiprocess-safe.

With PROMETHEUS_MULTIPROC_DIR set (devstack sets it), every process writes its samples to
files there and any process's /metrics shows the sum; without it, each process serves its
own. Counters mirror the usage ledger and are incremented only when a ledger row is inserted.
"""

from __future__ import annotations

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.registry import Collector

USAGE_ALLOCATED_SECONDS = Counter(
    "dojo_usage_allocated_seconds",
    "Billable accelerator-seconds (devices x wall seconds)",
    ["organization", "pool"],
)
USAGE_DEVICE_SECONDS = Counter(
    "dojo_usage_device_seconds", "Modelled device-seconds of what ran", ["organization", "pool"]
)
USAGE_COST_USD = Counter(
    "dojo_usage_cost_usd",
    "Rated cost of the usage ledger's rows, USD (each row's amount)",
    ["organization", "pool"],
)
SAMPLES_TRAINED = Counter(
    "dojo_samples_trained", "Training samples processed", ["organization", "pool"]
)
SEGMENTS = Counter("dojo_segments", "Job segments completed", ["organization", "pool"])
JOBS = Counter("dojo_jobs", "Jobs reaching a final state", ["organization", "pool", "state"])
QUEUE_DEPTH = Gauge(
    "dojo_queue_depth",
    "Queued jobs by the pool they ask for",
    ["pool"],
    multiprocess_mode="livemostrecent",
)
CAPACITY_ALLOCATED = Gauge(
    "dojo_capacity_allocated_devices",
    "Devices holding a placement",
    ["pool"],
    multiprocess_mode="livemostrecent",
)
CAPACITY_FREE = Gauge(
    "dojo_capacity_free_devices",
    "Usable devices without a placement",
    ["pool"],
    multiprocess_mode="livemostrecent",
)
SCHED_PASS_SECONDS = Histogram("dojo_scheduler_pass_seconds", "Duration of a scheduling pass")
WEBHOOK_ATTEMPTS = Counter(
    "dojo_webhook_attempts", "Webhook delivery attempts by result", ["organization", "result"]
)
PREEMPTIONS = Counter("dojo_preemptions", "Preemptions requested by the scheduler", ["reason"])


BUDGET_ALERTS = Counter(
    "dojo_budget_alerts",
    "Budget thresholds crossed (billing's budget_alerted), by organization and threshold",
    ["organization", "threshold_percent", "cap_reached"],
)
# Collectors that only the web's /metrics exposes (one copy per deployment, not per worker):
# billing's ledger totals, read from the database at scrape time.
SCRAPE_COLLECTORS: list[Collector] = []


def register_scrape_collector(collector: Collector) -> None:
    if collector not in SCRAPE_COLLECTORS:  # ready() may run twice (tests)
        SCRAPE_COLLECTORS.append(collector)


def _registry() -> CollectorRegistry | None:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return registry
    return None


def render_metrics() -> tuple[bytes, str]:
    """The web's /metrics: this process's (or every process's, multiprocess) metrics and the
    scrape-time collectors."""
    from prometheus_client import REGISTRY

    registry = _registry()
    body = generate_latest(REGISTRY if registry is None else registry)
    if SCRAPE_COLLECTORS:
        extra = CollectorRegistry(auto_describe=False)
        for collector in SCRAPE_COLLECTORS:
            extra.register(collector)
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


def serve_metrics(port: int, addr: str = "127.0.0.1") -> None:
    """Expose /metrics of this process (workers, the gRPC server) on its own port."""
    registry = _registry()
    if registry is None:
        start_http_server(port, addr=addr)
    else:
        start_http_server(port, addr=addr, registry=registry)
