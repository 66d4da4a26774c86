"""A job through the real loop and real Celery workers: segments, checkpoints, ledger; a
worker SIGKILLed mid-segment loses only that segment and the job resumes elsewhere."""

from __future__ import annotations

import signal
import time

import pytest
from django.contrib.auth.models import User
from platform_worker_procs import Workers

from dojocloud.billing.models import UsageRecord
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Checkpoint, Job
from dojocloud.tenancy.services import create_organization, principal_for_user
from tests.support.driving import drive, tiny_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def owner_principal():  # type: ignore[no-untyped-def]
    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    return principal_for_user(alice)


def test_job_runs_in_segments_to_success(live: Workers) -> None:
    principal = owner_principal()
    job = jobs.create_job(principal, tiny_spec(steps=6, interval=2))
    live.start()
    drive(lambda: Job.objects.get(id=job.id).is_final, live.logs, timeout=300)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    assert job.current_step == 6 and job.attempt == 1
    rows = list(UsageRecord.objects.filter(job=job).order_by("segment"))
    assert [(r.start_step, r.end_step) for r in rows] == [(0, 2), (2, 4), (4, 6)]
    assert job.allocated_seconds == pytest.approx(sum(r.allocated_seconds for r in rows))
    assert all(r.allocated_seconds > 0 for r in rows)
    losses = [e.data["loss"] for e in jobs.job_events(principal, job.id) if e.kind == "metric"]
    assert len(losses) == 6
    states = [e.data["to"] for e in jobs.job_events(principal, job.id) if e.kind == "state"]
    assert states == ["QUEUED", "SCHEDULED", "RUNNING", "SUCCEEDED"]
    assert not job.allocations.filter(released_at__isnull=True).exists()


def steps_for(seconds: float) -> int:
    """Steps of the test model that take about `seconds` here and now (speed varies a lot
    with the machine's load), so a segment is long enough to be killed in the middle."""
    import torch

    from dojo_runtime.training import Trainer
    from dojocloud.jobs.runtime_config import train_config
    from dojocloud.jobs.validation import validate_spec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers run (DOJO_TORCH_THREADS=1)
    try:
        trainer = Trainer(train_config(validate_spec(tiny_spec(steps=80, interval=80))))
        state = trainer.train(trainer.initial_state(), 20)  # warm-up steps are slower
        started = time.perf_counter()
        trainer.train(state, 80)
        per_step = (time.perf_counter() - started) / 60
    finally:
        torch.set_num_threads(threads)
    return max(20, min(int(seconds / per_step), 50_000))


def test_killed_worker_loses_at_most_its_segment(live: Workers) -> None:
    principal = owner_principal()
    interval = steps_for(15.0)
    job = jobs.create_job(principal, tiny_spec(steps=2 * interval, interval=interval))
    first = live.start()

    def mid_second_segment() -> bool:
        done = Checkpoint.objects.filter(job_id=job.id).order_by("-step").first()
        now = Job.objects.get(id=job.id)
        assert not now.is_final, "the job ended before the worker could be killed"
        return done is not None and now.current_step > done.step

    drive(mid_second_segment, live.logs, timeout=300)
    checkpoint_at_kill = Checkpoint.objects.filter(job_id=job.id).order_by("-step").first()
    assert checkpoint_at_kill is not None
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = Job.objects.get(id=job.id).current_step
    assert killed_at > checkpoint_at_kill.step

    live.start()
    drive(lambda: Job.objects.get(id=job.id).is_final, live.logs, timeout=300)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    rows = list(UsageRecord.objects.filter(job=job).order_by("start_step"))
    spans = [(r.start_step, r.end_step) for r in rows]
    # The killed segment left no ledger row; the next one restarted from its checkpoint.
    assert spans[0] == (0, interval) and spans[-1][1] == 2 * interval
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert (checkpoint_at_kill.step, 2 * interval) in spans
