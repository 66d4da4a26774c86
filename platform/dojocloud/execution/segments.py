"""Running one segment of a job on a worker: claim it, restore the latest checkpoint, train
up to `checkpoint_interval` steps, save a checkpoint, append usage, then chain the next
segment or finish. Tasks call `run_segment`; everything here is idempotent per token."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dojo_runtime.config import StepMetrics
from dojo_runtime.training import Trainer
from dojocloud.execution import checkpoints
from dojocloud.execution.heartbeat import Heartbeat
from dojocloud.execution.outcomes import (
    LOST_LEASE,
    SegmentResult,
    fail_job,
    finish_segment,
    preempt_job,
)
from dojocloud.execution.progress import ProgressRecorder
from dojocloud.jobs.facade import (
    STOP_CANCEL,
    Job,
    SegmentRun,
    lifecycle,
    spec_of,
    stop_requested,
    train_config,
    transition,
)

log = logging.getLogger(__name__)
STOP_POLL_S = 0.2  # Redis is polled at most this often, not on every (sub-ms) step


@dataclass
class _Watch:
    """Decides, between steps, whether the segment must stop and why."""

    job_id: str
    heartbeat: Heartbeat
    deadline: float
    stop: str | None = None
    last_poll: float = 0.0

    def should_stop(self) -> bool:
        if self.stop is None:
            now = time.monotonic()
            self.stop = self.heartbeat.stop_reason
            if self.stop is None and now >= self.deadline:
                self.stop = "max_runtime"
            elif self.stop is None and now - self.last_poll >= STOP_POLL_S:
                self.last_poll = now
                self.stop = stop_requested(self.job_id)
        return self.stop is not None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(job_id: str, token: str, lease: str, now: datetime | None = None) -> Job | None:
    """Takes the segment for this worker, or None when the token is stale or another live
    worker holds it (its heartbeat is recent)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=float(settings.HEARTBEAT_TIMEOUT_S))
    claimed = Job.objects.filter(
        Q(lease_owner="") | Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
        id=job_id,
        dispatch_token=token,
        state__in=lifecycle.PLACED_STATES,
    ).update(lease_owner=lease, heartbeat_at=now)
    if not claimed:
        return None
    return Job.objects.select_related("organization").get(id=job_id)


def run_segment(job_id: str, token: str) -> str:
    """Returns what happened: "stale", "preempted", "segment", "succeeded", "failed",
    "cancelled" or "lost_lease"."""
    lease = f"{worker_name()}:{uuid.uuid4().hex[:8]}"
    job = claim(job_id, token, lease)
    if job is None:
        return "stale"
    if job.preempt_requested:
        preempt_job(job, lease, reason=job.preempt_reason or "preempted before start")
        return "preempted"
    if job.state == lifecycle.SCHEDULED:
        if (
            transition(
                job.id,
                lifecycle.RUNNING,
                # Customers read this reason: the worker's host and PID are the operators'
                # (Job.lease_owner, shown in the console's admin), not theirs.
                "training started",
                expect=[lifecycle.SCHEDULED],
                where=Q(lease_owner=lease),
            )
            is None
        ):
            return "stale"
        job.refresh_from_db()
    try:
        with Heartbeat(job.id, lease, float(settings.HEARTBEAT_INTERVAL_S)) as heartbeat:
            result = _train(job, heartbeat)
    except Exception as exc:  # the job fails with the reason; the worker lives on
        log.exception("job %s failed", job.id)
        fail_job(job, lease, f"{type(exc).__name__}: {exc}")
        return "failed"
    return finish_segment(job, lease, result)


_trainers: dict[str, Trainer] = {}


def _trainer(job: Job) -> Trainer:
    """Trainers are cached per config: building one loads the dataset."""
    config = train_config(
        spec_of(job), accelerator=job.accelerator or None, device_count=len(job.devices) or None
    )
    key = repr(config)
    if key not in _trainers:
        _trainers.clear()
        _trainers[key] = Trainer(config)
    return _trainers[key]


def _train(job: Job, heartbeat: Heartbeat) -> SegmentResult:
    spec = spec_of(job)
    trainer = _trainer(job)
    restored = checkpoints.latest_checkpoint(job.id)
    state = trainer.restore(restored[1]) if restored else trainer.initial_state()
    start_step = state.step
    until = min(job.total_steps, start_step + int(spec.training.checkpoint_interval))
    remaining = max(job.max_runtime_seconds - job.wall_seconds, 0.0)
    watch = _Watch(job.id, heartbeat, time.monotonic() + remaining)
    recorder = ProgressRecorder(
        job.id, every=int(settings.METRIC_EVERY_STEPS), last_step=until, lease=heartbeat.lease
    )
    started_at = timezone.now()
    t0 = time.monotonic()
    device_s0 = state.device_seconds

    def on_step(m: StepMetrics) -> None:
        recorder.record(m)

    if watch.stop is None and remaining > 0:
        state = trainer.train(state, until, on_step=on_step, should_stop=watch.should_stop)
    else:
        watch.stop = "max_runtime"
    recorder.flush()
    blob = None
    if state.step > start_step and watch.stop not in (STOP_CANCEL, LOST_LEASE):
        blob = trainer.snapshot(state)
    run = SegmentRun(
        start_step=start_step,
        end_step=state.step,
        samples=(state.step - start_step) * int(spec.training.batch_size),
        wall_seconds=time.monotonic() - t0,
        device_seconds=max(state.device_seconds - device_s0, 0.0),
        started_at=started_at,
        ended_at=timezone.now(),
    )
    return SegmentResult(run=run, stop=watch.stop, checkpoint=blob)
