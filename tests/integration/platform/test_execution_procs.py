"""Execution follows placement, on real worker processes: every placed job runs at once in a
job process of its own, bounded (a job past its memory limit fails alone, OUT_OF_MEMORY),
and a cancelled job's process is gone within seconds even in the middle of a step."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import psutil
import pytest
import torch
from django.utils import timezone
from google.protobuf import json_format
from platform_worker_procs import Workers
from test_platform_worker import owner_principal, steps_for

from dojo.v1 import job_pb2
from dojo_runtime.training import Trainer
from dojocloud.billing.models import UsageRecord
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.execution.jobproc import PROCESS_NAME
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.validation import validate_spec
from tests.support.driving import drive, tiny_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
GIB = 2**30


def job_processes(worker: psutil.Popen | object) -> list[psutil.Process]:
    """The worker's job processes (children of its fork server), by their process name."""
    try:
        tree = psutil.Process(worker.pid).children(recursive=True)  # type: ignore[attr-defined]
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in tree:
        try:
            if proc.name() == PROCESS_NAME.decode():
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


def state_times(job_id: str) -> dict[str, datetime]:
    """When the job first entered each state."""
    times: dict[str, datetime] = {}
    for event in JobEvent.objects.filter(job_id=job_id, kind=JobEvent.KIND_STATE).order_by("id"):
        times.setdefault(event.data["to"], event.time)
    return times


def spec_with(base: job_pb2.JobSpec, **model_params: int) -> job_pb2.JobSpec:
    spec = job_pb2.JobSpec()
    spec.CopyFrom(base)
    for key, value in model_params.items():
        spec.model.params[key] = value
    return spec


def test_six_one_tile_jobs_run_at_once_on_one_worker(live: Workers) -> None:
    principal = owner_principal()
    steps = steps_for(4.0)
    placed = [jobs.create_job(principal, tiny_spec(steps=steps, interval=steps)) for _ in range(6)]
    worker = live.start()
    pids: set[int] = set()
    most_at_once = 0

    def all_final() -> bool:
        nonlocal most_at_once
        running = job_processes(worker)
        pids.update(p.pid for p in running)
        most_at_once = max(most_at_once, len(running))
        return all(Job.objects.get(id=j.id).is_final for j in placed)

    drive(all_final, live.logs, timeout=600)
    spans = []
    for job in placed:
        job.refresh_from_db()
        assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
        times = state_times(job.id)
        spans.append((times["RUNNING"], times["SUCCEEDED"]))
    # All six were RUNNING at one moment: the last to start started before the first ended.
    assert max(s for s, _ in spans) < min(e for _, e in spans), spans
    assert most_at_once == 6, f"at most {most_at_once} job processes seen at once"
    assert len(pids) == 6  # one process per job (one segment each)
    reasons = {
        e.data["reason"]
        for e in JobEvent.objects.filter(job__in=placed, kind=JobEvent.KIND_STATE)
        if e.data["to"] == "RUNNING"
    }
    # One worker: every job process was found in its process tree (job_processes); the
    # customer's RUNNING reason names no host or PID.
    assert reasons == {
        "training started: 1 rank, training on cpu (Dojo tiles are emulated on the CPU)"
    }
    assert worker.poll() is None


def test_a_job_past_its_memory_limit_fails_alone(live: Workers) -> None:
    principal = owner_principal()
    steps = steps_for(5.0)
    normal_spec = tiny_spec(steps=steps, interval=max(steps // 2, 1))
    normal = jobs.create_job(principal, normal_spec)
    # ~200 M parameters: ~0.8 GB of fp32 weights before gradients and Adam's moments.
    hog = jobs.create_job(
        principal, spec_with(tiny_spec(steps=4, interval=4), hidden=8192, layers=3)
    )
    worker = live.start(env={"DOJO_JOB_MEMORY_LIMIT_BYTES": str(2 * GIB)})
    drive(
        lambda: Job.objects.get(id=normal.id).is_final and Job.objects.get(id=hog.id).is_final,
        live.logs,
        timeout=600,
    )
    hog.refresh_from_db()
    normal.refresh_from_db()
    assert hog.state == "FAILED", (hog.state, hog.state_reason, live.logs())
    assert hog.state_reason.startswith("OUT_OF_MEMORY: "), hog.state_reason
    failed = JobEvent.objects.get(job=hog, kind=JobEvent.KIND_STATE, data__to="FAILED")
    assert failed.data["failure"] == "OUT_OF_MEMORY"
    assert failed.data["limit_bytes"] == 2 * GIB
    assert 0.9 * 2 * GIB <= failed.data["peak_bytes"] <= 2 * GIB
    assert not hog.allocations.filter(released_at__isnull=True).exists()

    assert normal.state == "SUCCEEDED", (normal.state_reason, live.logs())
    assert state_times(normal.id)["RUNNING"] < state_times(hog.id)["FAILED"]  # side by side
    assert worker.poll() is None, "the worker went down with the job"

    # The neighbour's weights are bit-identical to the same job trained straight, alone.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the worker's job processes ran (DOJO_TORCH_THREADS=1)
    try:
        trainer = Trainer(train_config(validate_spec(normal_spec)))
        alone = trainer.train(trainer.initial_state(), steps).model.state_dict()
    finally:
        torch.set_num_threads(threads)
    restored = latest_checkpoint(normal.id)
    assert restored is not None and restored[0].step == steps
    platform = Trainer(train_config(validate_spec(normal_spec))).restore(restored[1])
    trained = platform.model.state_dict()
    assert trained.keys() == alone.keys()
    assert all(torch.equal(trained[k], alone[k]) for k in alone)


def _slow_step_spec() -> job_pb2.JobSpec:
    """Steps of seconds each, so a cancel lands inside one."""
    spec = json_format.ParseDict(
        {
            "name": "slow-steps",
            "model": {"architecture": "mlp", "params": {"hidden": 4096, "layers": 3}},
            "dataset": {"name": "digits"},
            "training": {
                "steps": 50,
                "batch_size": 1024,
                "optimizer": "adam",
                "learning_rate": 0.01,
                "precision": "bf16",
                "checkpoint_interval": 50,
                "seed": 3,
            },
            "resources": {"accelerators": ["dojo-tile"], "count": 1},
        },
        job_pb2.JobSpec(),
    )
    return spec


def test_cancel_mid_step_ends_the_job_process_within_five_seconds(live: Workers) -> None:
    principal = owner_principal()
    job = jobs.create_job(principal, _slow_step_spec())
    worker = live.start()
    drive(lambda: Job.objects.get(id=job.id).current_step >= 1, live.logs, timeout=300)
    (proc,) = job_processes(worker)
    cancelled_at = timezone.now()
    started = time.monotonic()
    jobs.cancel_job(principal, job.id, reason="changed my mind")
    gone, alive = psutil.wait_procs([proc], timeout=5.0)
    took = time.monotonic() - started
    assert not alive, f"the job process still runs {took:.1f}s after the cancel"
    gone_at = timezone.now()

    def recorded() -> bool:
        return UsageRecord.objects.filter(job=job).exists()

    drive(recorded, live.logs, timeout=60)
    job.refresh_from_db()
    assert job.state == "CANCELLED"
    assert "SIGTERM" in live.logs(), "the cancel should have landed inside a step"
    (row,) = UsageRecord.objects.filter(job=job)
    # Billed until the process was stopped, not for the steps it never ran.
    assert cancelled_at <= row.ended_at <= gone_at + timedelta(seconds=1)
    assert row.allocated_seconds == pytest.approx(
        (row.ended_at - row.started_at).total_seconds(), abs=1.0
    )
    assert row.end_step < 50
    assert not job.allocations.filter(released_at__isnull=True).exists()
    assert worker.poll() is None
