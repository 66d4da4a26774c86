"""Data-parallel jobs on real worker processes: a job of 2 tiles trains as a gang of 2 job
processes (gloo over loopback), resumes bit-identically across segments, matches one rank on
the same global batch within the runtime's stated tolerance, and a rank killed mid-segment
fails the segment for the gang at once; the job resumes from its checkpoint and finishes."""

from __future__ import annotations

import signal
import time

import psutil
import pytest
import torch
from platform_worker_procs import Workers
from test_execution_procs import job_processes
from test_platform_worker import owner_principal, steps_for

from dojo.v1 import job_pb2
from dojo_runtime.training import Trainer
from dojocloud.billing.models import UsageRecord
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Checkpoint, Job, JobEvent
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.validation import validate_spec
from tests.support.driving import drive, tiny_spec
from tests.unit.runtime_training.test_runtime_training_parallel import RANK_TOLERANCE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def two_tile_spec(steps: int, interval: int) -> job_pb2.JobSpec:
    spec = tiny_spec(steps=steps, interval=interval, precision="fp32")
    spec.resources.count = 2
    return spec


def final_weights(job: Job) -> dict[str, torch.Tensor]:
    restored = latest_checkpoint(job.id)
    assert restored is not None and restored[0].step == job.total_steps
    trainer = Trainer(train_config(validate_spec(jobs.spec_of(job))))
    return trainer.restore(restored[1]).model.state_dict()


def running_reason(job: Job) -> str:
    event = JobEvent.objects.filter(job=job, kind="state", data__to="RUNNING").first()
    assert event is not None
    return str(event.data["reason"])


def test_two_ranks_resume_bit_identically_and_match_one_rank(live: Workers) -> None:
    principal = owner_principal()
    segmented = jobs.create_job(principal, two_tile_spec(steps=12, interval=4))
    straight = jobs.create_job(principal, two_tile_spec(steps=12, interval=12))
    live.start()
    drive(
        lambda: all(Job.objects.get(id=j.id).is_final for j in (segmented, straight)),
        live.logs,
        timeout=600,
    )
    for job in (segmented, straight):
        job.refresh_from_db()
        assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
        assert running_reason(job) == (
            "training started: 2 ranks, training on cpu (Dojo tiles are emulated on the CPU)"
        )
    spans = [(r.start_step, r.end_step) for r in UsageRecord.objects.filter(job=segmented)]
    assert sorted(spans) == [(0, 4), (4, 8), (8, 12)]
    a, b = final_weights(segmented), final_weights(straight)
    assert all(torch.equal(a[k], b[k]) for k in a), "segments of 2 ranks != straight 2 ranks"

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = Trainer(train_config(validate_spec(two_tile_spec(steps=12, interval=12))))
        alone = one.train(one.initial_state(), 12).model.state_dict()
    finally:
        torch.set_num_threads(threads)
    diff = max(float((a[k] - alone[k]).abs().max()) for k in alone)
    assert diff <= RANK_TOLERANCE, f"2 ranks differ from 1 rank by {diff}"


def test_a_killed_rank_fails_the_gang_and_the_job_resumes(live: Workers) -> None:
    principal = owner_principal()
    interval = steps_for(6.0)
    job = jobs.create_job(principal, two_tile_spec(steps=2 * interval, interval=interval))
    worker = live.start()

    def mid_second_segment() -> bool:
        done = Checkpoint.objects.filter(job_id=job.id).order_by("-step").first()
        now = Job.objects.get(id=job.id)
        assert not now.is_final, "the job ended before a rank could be killed"
        return done is not None and now.current_step > done.step + 1

    drive(mid_second_segment, live.logs, timeout=300)
    gang = job_processes(worker)
    assert len(gang) == 2, f"expected a gang of 2 rank processes, saw {len(gang)}"
    victim, survivor = sorted(gang, key=lambda p: p.create_time())[::-1]
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    _, alive = psutil.wait_procs([survivor], timeout=10.0)
    took = time.monotonic() - killed_at
    assert not alive, f"the surviving rank still runs {took:.1f}s after its peer was killed"

    drive(lambda: Job.objects.get(id=job.id).is_final, live.logs, timeout=600)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    preempted = [
        e.data["reason"]
        for e in JobEvent.objects.filter(job=job, kind="state", data__to="PREEMPTED")
    ]
    assert len(preempted) == 1 and preempted[0].startswith("rank lost: rank "), preempted
    assert "of 2 was killed (signal 9); resuming from the last checkpoint" in preempted[0]
    rows = list(UsageRecord.objects.filter(job=job).order_by("id"))
    # First segment, the broken one (billed for what ran), then the redo from checkpoint.
    assert rows[0].start_step == 0 and rows[0].end_step == interval
    assert rows[1].start_step == interval and rows[1].end_step < 2 * interval
    assert rows[-1].start_step == interval and rows[-1].end_step == 2 * interval
    assert worker.poll() is None
