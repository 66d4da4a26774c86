"""A job travels SDK → gRPC API → scheduler → Celery worker on an emulated tile → usage
ledger and Prometheus, with every process real."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from dojo import specfile
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnauthenticatedError,
)
from dojo.v1 import job_pb2
from tests.integration.e2e.conftest import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "digits-mlp.yaml"


def client(stack: RunningStack, key: str | None = None) -> Client:
    return Client(ClientConfig(server=stack.grpc, api_key=key or stack.api_key, timeout=30))


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return resp.read().decode()


def metric_value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_sdk_job_runs_to_success_and_is_billed(running_stack: RunningStack) -> None:
    spec = specfile.load(str(EXAMPLE))
    with client(running_stack) as c:
        job = c.create_job(spec, request_id="e2e-digits-1")
        retry = c.create_job(spec, request_id="e2e-digits-1")
        assert retry.name == job.name  # a retried create makes one job

        events = list(c.watch_job(job.name))
        final = c.get_job(job.name)

    assert final.state == job_pb2.SUCCEEDED, final.state_reason
    states = [e.state_change.to_state for e in events if e.WhichOneof("kind") == "state_change"]
    for expected in (job_pb2.QUEUED, job_pb2.SCHEDULED, job_pb2.RUNNING, job_pb2.SUCCEEDED):
        assert expected in states
    metrics = [e.metric for e in events if e.WhichOneof("kind") == "metric"]
    assert metrics and metrics[-1].step == spec.training.steps
    assert metrics[-1].loss < 0.5 * metrics[0].loss  # it learned
    assert final.usage.allocated_seconds > 0
    assert final.usage.device_seconds > 0

    ledger = running_stack.manage_json(
        "import json; from dojocloud.billing.models import UsageRecord as U; "
        f"rows = U.objects.filter(job_id='{final.name.rsplit('/', 1)[1]}'); "
        "print(json.dumps({'segments': sorted(r.segment for r in rows), "
        "'allocated': sum(r.allocated_seconds for r in rows), "
        "'pools': sorted({r.pool for r in rows})}))"
    )
    assert isinstance(ledger, dict)
    segments = spec.training.steps // spec.training.checkpoint_interval
    assert ledger["segments"] == list(range(len(ledger["segments"])))
    assert len(ledger["segments"]) == segments
    assert ledger["pools"] == ["dojo"]
    assert ledger["allocated"] == pytest.approx(final.usage.allocated_seconds, rel=1e-6)

    # The worker that produced the usage exposes it; the counter mirrors the ledger.
    text = scrape(running_stack.stack.worker_metrics_ports["dojo"])
    counted = metric_value(
        text, "dojo_usage_allocated_seconds_total", organization="demo", pool="dojo"
    )
    assert counted == pytest.approx(ledger["allocated"], rel=1e-6)

    # A real Prometheus server scraped the processes: reconciliation (run against the
    # stack's own database) agrees with the ledger once the last samples are scraped.
    if running_stack.stack.prometheus_url:
        argv = [
            sys.executable,
            "manage.py",
            "reconcile_usage",
            "--settle",
            "0",
            "--prometheus-url",
            running_stack.stack.prometheus_url,
        ]
        deadline = time.monotonic() + 60
        while True:
            res = subprocess.run(
                argv,
                cwd=EXAMPLE.parents[1],
                env=running_stack.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if res.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "demo" in res.stdout


def test_cli_submit_wait_exits_zero_on_success(running_stack: RunningStack) -> None:
    env = dict(
        running_stack.env, DOJO_SERVER=running_stack.grpc, DOJO_API_KEY=running_stack.api_key
    )
    dojo = str(Path(sys.executable).with_name("dojo"))
    res = subprocess.run(
        [dojo, "jobs", "submit", str(EXAMPLE), "--wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCEEDED" in res.stdout + res.stderr

    listed = subprocess.run(
        [dojo, "jobs", "list", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "SUCCEEDED" in listed.stdout


def test_other_organization_gets_not_found(running_stack: RunningStack) -> None:
    with client(running_stack) as c:
        job = c.create_job(specfile.load(str(EXAMPLE)), request_id="e2e-tenancy")
    outsider_key = running_stack.manage_json(
        "import json; from django.contrib.auth.models import User; "
        "from dojocloud.tenancy import services as s; "
        "u, _ = User.objects.get_or_create(username='mallory'); "
        "org = s.create_organization('rival', 'Rival Labs', u); "
        "key = s.create_api_key(s.principal_for_user(u, 'rival'), name='e2e')[1]; "
        "print(json.dumps(key))"
    )
    assert isinstance(outsider_key, str)
    with client(running_stack, outsider_key) as c:
        with pytest.raises(NotFoundError):
            c.get_job(job.name)
        with pytest.raises(NotFoundError):
            c.cancel_job(job.name)
        assert job.name not in [j.name for j in c.list_jobs()]
    with client(running_stack) as c:
        # The owner may cancel it, unless it already finished (it is a short job): then
        # cancelling is a state conflict, FAILED_PRECONDITION.
        try:
            c.cancel_job(job.name, reason="e2e cleanup")
        except FailedPreconditionError:
            assert c.get_job(job.name).state == job_pb2.SUCCEEDED
        else:
            assert c.get_job(job.name).state == job_pb2.CANCELLED


def test_bad_spec_is_rejected_naming_the_field(running_stack: RunningStack) -> None:
    spec = specfile.load(str(EXAMPLE))
    spec.training.learning_rate = -1.0
    spec.resources.count = 99  # more tiles than the inventory has
    with client(running_stack) as c, pytest.raises(InvalidArgumentError) as err:
        c.create_job(spec)
    fields = {v.field for v in err.value.field_violations}
    assert {"training.learning_rate", "resources.count"} <= fields


def test_bad_key_is_unauthenticated_and_health_is_served(running_stack: RunningStack) -> None:
    with client(running_stack, "dojo_nope_notakey") as c, pytest.raises(UnauthenticatedError):
        c.get_job("organizations/demo/jobs/whatever")
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(running_stack.grpc) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=10
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with urllib.request.urlopen(running_stack.web + "/metrics", timeout=10) as resp:
        assert resp.status == 200
    assert re.search(r"^dojo_", scrape(running_stack.stack.ports.grpc_metrics), re.M)
