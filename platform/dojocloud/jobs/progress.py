"""Metric events of a running segment: every N steps and the segment's last step, written
in small batches so recording them does not slow training down."""

from __future__ import annotations

import math
import time

from django.utils import timezone

from dojo_runtime.config import StepMetrics
from dojocloud.jobs.models import Job, JobEvent

FLUSH_EVERY_S = 1.0


def metric_data(m: StepMetrics) -> dict[str, float | int | None]:
    acc = m.accuracy if m.accuracy is not None and math.isfinite(m.accuracy) else None
    return {"step": m.step, "loss": float(m.loss), "accuracy": acc,
            "samples_per_second": float(m.samples_per_second),
            "device_seconds": float(m.device_seconds), "wall_seconds": float(m.wall_seconds),
            "modelled_samples_per_second": float(m.modelled_samples_per_second)}


class ProgressRecorder:
    def __init__(self, job_id: str, *, every: int, last_step: int) -> None:
        self.job_id = job_id
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
        self._buffer.append(JobEvent(job_id=self.job_id, kind=JobEvent.KIND_METRIC,
                                     time=timezone.now(), data=data))
        if time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        JobEvent.objects.bulk_create(self._buffer)
        self._buffer = []
        if self._latest is not None:
            Job.objects.filter(id=self.job_id).update(current_step=self._latest["step"],
                                                      latest_metrics=self._latest)
