"""Running one segment of a job on a worker: claim it, restore the latest checkpoint, train
up to `checkpoint_interval` steps, save a checkpoint, append usage, then chain the next
segment or finish. Tasks call `run_segment`; everything here is idempotent per token."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dojo_runtime.config import CustomModel, StepMetrics, loss_function
from dojo_runtime.parallel import gang_devices, rank_count
from dojo_runtime.specs import accelerator_kind
from dojocloud.datasets.facade import (
    fetch_model_path,
    fetch_path,
    is_dataset_name,
    resolve,
    resolve_model,
)
from dojocloud.execution import checkpoints, failure_codes, limits, supervisor
from dojocloud.execution.heartbeat import Heartbeat
from dojocloud.execution.joblog import JobLogWriter
from dojocloud.execution.jobproc import SegmentOrder
from dojocloud.execution.limits import GIB
from dojocloud.execution.outcomes import (
    LOST_LEASE,
    RANK_LOST,
    SegmentResult,
    fail_job,
    finish_segment,
    preempt_job,
)
from dojocloud.execution.progress import ProgressRecorder
from dojocloud.jobs.facade import (
    STOP_CANCEL,
    Failure,
    FailureReason,
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
        gang = _gang(job)
        if (
            transition(
                job.id,
                lifecycle.RUNNING,
                # Customers read this reason: the worker's host and PID are the operators'
                # (Job.lease_owner, shown in the console's admin), not theirs.
                f"training started: {gang.ranks} rank{'s' if gang.ranks > 1 else ''}, {gang.where}",
                expect=[lifecycle.SCHEDULED],
                where=Q(lease_owner=lease),
            )
            is None
        ):
            return "stale"
        job.refresh_from_db()
    joblog = JobLogWriter(job.id)
    try:
        with Heartbeat(job.id, lease, float(settings.HEARTBEAT_INTERVAL_S)) as heartbeat:
            result = _train(job, heartbeat, joblog)
    except Exception as exc:  # the job fails with the reason; the worker lives on
        log.exception("job %s failed", job.id)
        failure = joblog.failed(Failure(FailureReason.INTERNAL, f"{type(exc).__name__}: {exc}"))
        fail_job(job, lease, failure.reason_text, failure=failure)
        return "failed"
    return finish_segment(job, lease, _logged_end(joblog, result), log_tail=joblog.tail())


def _logged_end(joblog: JobLogWriter, result: SegmentResult) -> SegmentResult:
    """Logs how the segment ended and writes the log out before the end is recorded (a
    reader that sees the job final then has every line)."""
    if result.failure is not None:
        return replace(result, failure=joblog.failed(result.failure))
    if result.checkpoint is not None:
        size = len(result.checkpoint) / 1024
        joblog.say(f"checkpoint saved at step {result.end_step} ({size:.0f} KiB)")
    if result.stop is not None:
        joblog.say(f"segment stopped at step {result.end_step}: {result.stop}")
    joblog.flush()
    return result


@dataclass(frozen=True)
class _GangPlan:
    ranks: int
    devices: list[str]  # each rank's torch device
    where: str  # "training on cpu (...)", for the job's events


def _gang(job: Job) -> _GangPlan:
    """One rank per device of the job (at most one per sample of the global batch), on this
    host's CUDA devices for a GPU-pool job when it has some, else on the CPU."""
    spec = spec_of(job)
    devices = len(job.devices) or 1
    ranks = rank_count(devices, int(spec.training.batch_size))
    accelerator = job.accelerator or next(iter(spec.resources.accelerators), "dojo-tile")
    kind = accelerator_kind(accelerator)
    chosen, where = gang_devices(kind, limits.cuda_devices(), ranks)
    return _GangPlan(ranks, chosen, where)


def _order(job: Job, checkpoint: bytes | None, until: int) -> SegmentOrder:
    """What the job process trains. An uploaded dataset is resolved in the job's organization
    and fetched from object storage into this machine's cache (by sha256, checked): no disk
    is shared with the API; the job process reads the cached file."""
    devices = len(job.devices) or 1
    spec = spec_of(job)
    data = (
        resolve(job.organization, spec.dataset.name) if is_dataset_name(spec.dataset.name) else None
    )
    model = resolve_model(job.organization, spec.model.onnx) if spec.model.onnx else None
    config = train_config(
        spec,
        dataset=data.meta if data else None,
        # The file travels as a path in this machine's cache; the job process reads it.
        model=CustomModel(model.sha256, spec.model.task or "classification") if model else None,
        accelerator=job.accelerator or None,
        device_count=len(job.devices) or None,
    )
    # Each rank gets the share of its devices (devices ÷ ranks), as a job of that size would.
    world = rank_count(devices, config.batch_size)
    threads, memory = limits.limits_for(
        config.accelerator, max(devices // world, 1), limits.worker_slots()
    )
    return SegmentOrder(
        config=config,
        checkpoint=checkpoint,
        until_step=until,
        threads=threads,
        memory_limit_bytes=memory,
        metric_every=int(settings.METRIC_EVERY_STEPS),
        dataset_path=str(fetch_path(data)) if data else None,
        model_path=str(fetch_model_path(model)) if model else None,
        world=world,
        evaluate=until >= job.total_steps,
    )


def _train(job: Job, heartbeat: Heartbeat, joblog: JobLogWriter | None = None) -> SegmentResult:
    """Trains the segment in a job process of its own (see supervisor); its log lines go
    to `joblog`."""
    joblog = joblog or JobLogWriter(job.id)
    spec = spec_of(job)
    restored = checkpoints.latest_checkpoint(job.id)
    start_step = restored[0].step if restored else 0
    until = min(job.total_steps, start_step + int(spec.training.checkpoint_interval))
    remaining = max(job.max_runtime_seconds - job.wall_seconds, 0.0)
    watch = _Watch(job.id, heartbeat, time.monotonic() + remaining)
    recorder = ProgressRecorder(
        job.id, every=int(settings.METRIC_EVERY_STEPS), last_step=until, lease=heartbeat.lease
    )
    started_at = timezone.now()
    t0 = time.monotonic()
    if watch.stop is not None or remaining <= 0:
        watch.stop = watch.stop or "max_runtime"
        return SegmentResult(
            run=_run(start_step, start_step, 0, 0.0, started_at, t0),
            stop=watch.stop,
            checkpoint=None,
        )

    def on_step(m: StepMetrics) -> None:
        recorder.record(m)

    end = supervisor.run_job_process(
        _order(job, restored[1] if restored else None, until),
        start_step=start_step,
        on_step=on_step,
        should_stop=lambda: watch.stop if watch.should_stop() else None,
        keep_checkpoint=lambda why: why not in (STOP_CANCEL, LOST_LEASE),
        grace_s=float(settings.CANCEL_GRACE_S),
        devices=_gang(job).devices,
        rendezvous_timeout_s=float(settings.RANK_TIMEOUT_S),
        on_log=joblog.line,
    )
    recorder.flush()
    if end.evaluation is not None and end.failure is None:
        # Recorded before the segment's end makes the job SUCCEEDED, so a final job has it.
        # With what `loss` is: a regression's is the mean squared error (and no accuracy).
        evaluation = {**end.evaluation, "loss_function": loss_function(spec.model.task)}
        Job.objects.filter(id=job.id).update(evaluation=evaluation)
    if end.failure == supervisor.INTERRUPTED:
        watch.stop = LOST_LEASE  # the worker is stopping: the job resumes elsewhere
    elif end.failure == supervisor.RANK_LOST and watch.stop is None:
        watch.stop = RANK_LOST  # the segment is redone from the checkpoint (outcomes)
    steps = end.end_step - end.start_step
    run = _run(
        end.start_step,
        end.end_step,
        steps * int(spec.training.batch_size),
        max(end.device_seconds - end.start_device_seconds, 0.0),
        started_at,
        t0,
    )
    return SegmentResult(
        run=run,
        stop=watch.stop,
        checkpoint=end.checkpoint,
        failure=_failure(end),
        note=end.message,
    )


def _run(
    start: int, end: int, samples: int, device_s: float, started_at: datetime, t0: float
) -> SegmentRun:
    return SegmentRun(
        start_step=start,
        end_step=end,
        samples=samples,
        wall_seconds=time.monotonic() - t0,
        device_seconds=device_s,
        started_at=started_at,
        ended_at=timezone.now(),
    )


def _failure(end: supervisor.ProcessEnd) -> Failure | None:
    if end.failure in (None, supervisor.INTERRUPTED, supervisor.RANK_LOST):
        return None
    reason = FailureReason(failure_codes.reason_of(end.failure, end.code))
    detail: dict[str, int | float | str] = {"pid": end.pid, "exitcode": end.exitcode or 0}
    if end.ranks > 1:
        detail.update(ranks=end.ranks, failed_rank=end.failed_rank or 0)
    if reason == FailureReason.OUT_OF_MEMORY:
        detail.update(peak_bytes=end.peak_bytes, limit_bytes=end.limit_bytes)
        text = (
            f"the job process reached {end.peak_bytes / GIB:.2f} GiB of address space, "
            f"over its limit of {end.limit_bytes / GIB:.2f} GiB"
        )
        if end.message:
            text += f" ({end.message})"
    else:
        text = end.message
    return Failure(reason=reason, message=text, detail=detail, step=end.failed_step)
