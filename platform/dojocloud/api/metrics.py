"""Prometheus metrics of the gRPC API: request count and latency by method and code."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

GRPC_REQUESTS = Counter(
    "dojo_grpc_requests_total",
    "gRPC requests handled, by method and status code",
    ["method", "code"],
)
GRPC_LATENCY = Histogram(
    "dojo_grpc_request_duration_seconds",
    "gRPC request latency (streams: until the stream ends), by method and status code",
    ["method", "code"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)


def observe(method: str, code: str, seconds: float) -> None:
    GRPC_REQUESTS.labels(method=method, code=code).inc()
    GRPC_LATENCY.labels(method=method, code=code).observe(seconds)
