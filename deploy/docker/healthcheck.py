"""The image's HEALTHCHECK: asks the process this container runs (PID 1's command line says
which) the question its Kubernetes probe asks. Exit 0 healthy, 1 not (Docker's contract).

web (gunicorn): GET /healthz on its --bind port; api (serve_grpc): the gRPC health service
on DOJO_GRPC_ADDR's port; a Celery worker: GET /metrics on DOJO_WORKER_METRICS_PORT. A
one-shot command (migrate) has nothing to ask and counts as healthy."""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

TIMEOUT_S = 4.0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def grpc_serving(port: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def bound_port(argv: list[str], default: str) -> str:
    """The port of gunicorn's `--bind HOST:PORT` (or `--bind=HOST:PORT`)."""
    for i, arg in enumerate(argv):
        if arg == "--bind" and i + 1 < len(argv):
            return argv[i + 1].rsplit(":", 1)[-1]
        if arg.startswith("--bind="):
            return arg.rsplit(":", 1)[-1]
    return default


def healthy(argv: list[str], env: dict[str, str]) -> bool:
    line = " ".join(argv)
    if "gunicorn" in line:
        return http_ok(f"http://127.0.0.1:{bound_port(argv, '8000')}/healthz")
    if "serve_grpc" in line:
        return grpc_serving(env.get("DOJO_GRPC_ADDR", "127.0.0.1:50051").rsplit(":", 1)[-1])
    if "celery" in line:
        return http_ok(f"http://127.0.0.1:{env.get('DOJO_WORKER_METRICS_PORT', '9102')}/metrics")
    return True


def main() -> int:
    argv = Path("/proc/1/cmdline").read_bytes().decode().split("\0")
    return 0 if healthy([a for a in argv if a], dict(os.environ)) else 1


if __name__ == "__main__":
    sys.exit(main())
