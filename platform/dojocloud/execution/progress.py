"""Metric events of a running segment: every N steps and the segment's last step, written
in small batches so recording them does not slow training down.

A step's point is written once per job. A segment runs again after its worker lost the lease
(killed, or silent past the heartbeat timeout) or after a preemption, from the last
checkpoint, so it reaches steps that already have points: those are skipped (the database
holds one metric event per job and step, and the insert ignores the conflict), which keeps
charts and watch streams at one point per step. A worker whose lease another worker now
holds writes nothing more, so it cannot run ahead of the new lease's points or move the
job's current step."""

from __future__ import annotations

import math
import time

from django.db import transaction
from django.utils import timezone

from dojo_runtime.config import StepMetrics
from dojocloud.jobs.facade import Job, JobEvent

FLUSH_EVERY_S = 1.0


def metric_data(m: StepMetrics) -> dict[str, float | int | None]:
    acc = m.accuracy if m.accuracy is not None and math.isfinite(m.accuracy) else None
    return {
        "step": m.step,
        "loss": float(m.loss),
        "accuracy": acc,
        "samples_per_second": float(m.samples_per_second),
        "device_seconds": float(m.device_seconds),
        "wall_seconds": float(m.wall_seconds),
        "modelled_samples_per_second": float(m.modelled_samples_per_second),
    }


class ProgressRecorder:
    def __init__(
        self, job_id: str, *, every: int, last_step: int, lease: str | None = None
    ) -> None:
        self.job_id = job_id
        self.lease = lease  # the worker's lease on the job; None: write unconditionally
        self.every = max(every, 1)
        self.last_step = last_step
        self._buffer: list[JobEvent] = []
        self._latest: dict[str, float | int | None] | None = None
        self._last_flush = time.monotonic()

    def record(self, m: StepMetrics) -> None:
        if m.step % self.every and m.step != self.last_step:
            return
        data = metric_data(m)
        self._latest = data
        self._buffer.append(
            JobEvent(job_id=self.job_id, kind=JobEvent.KIND_METRIC, time=timezone.now(), data=data)
        )
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        buffer, self._buffer = self._buffer, []
        latest, self._latest = self._latest, None
        with transaction.atomic():
            # The job's row lock orders this job's event ids by commit (lock_event_logs)
            # and makes the lease check hold until the points are in.
            row = (
                Job.objects.select_for_update(no_key=True)
                .filter(id=self.job_id)
                .values("lease_owner")
                .first()
            )
            if row is None or self._taken_over(row["lease_owner"]):
                return
            JobEvent.objects.bulk_create(buffer, ignore_conflicts=True)
            if latest is not None:
                Job.objects.filter(id=self.job_id).update(
                    current_step=latest["step"], latest_metrics=latest
                )

    def _taken_over(self, owner: str) -> bool:
        # An empty owner is no other worker's lease: the job was cancelled or re-dispatched
        # and not yet claimed; its points are kept (duplicates are ignored anyway).
        return self.lease is not None and owner not in ("", self.lease)
