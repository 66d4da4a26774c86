"""`manage.py serve_grpc` as a real process: health, reflection, /metrics, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from devstack import REPO, free_port
from tests.support.grpc_server import serving_address, start_serve_grpc


def test_serve_grpc_serves_health_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    metrics_port = free_port()
    proc = start_serve_grpc(tmp_path, 2, DOJO_GRPC_METRICS_PORT=str(metrics_port))
    try:
        address = serving_address(proc)
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "dojo.v1.JobService"):
                reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
            assert {"dojo.v1.JobService", "grpc.health.v1.Health"} <= services
        body = (
            urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
            .read()
            .decode()
        )
        assert any(
            line.startswith("dojo_grpc_requests_total{")
            and 'method="/grpc.health.v1.Health/Check"' in line
            and 'code="OK"' in line
            for line in body.splitlines()
        )
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - start < 15
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_serve_grpc_stops_at_start_up_on_a_bad_metrics_port(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        DOJO_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DOJO_GRPC_METRICS_PORT="90o1",
    )
    res = subprocess.run(
        [sys.executable, "manage.py", "serve_grpc", "--addr", "127.0.0.1:0", "--no-scheduler"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert "DOJO_GRPC_METRICS_PORT must be an integer, got '90o1'" in res.stderr, res.stderr
