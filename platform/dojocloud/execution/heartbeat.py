"""A worker's heartbeat for the segment it holds, from a background thread, so a long
phase without steps (building the model, loading a checkpoint, one huge step) still reads as
alive. Each beat also learns, from the database, whether the job was cancelled or preempted
or taken over; the step loop reads that answer for free."""

from __future__ import annotations

import threading

from django.db import connection
from django.utils import timezone

from dojocloud.jobs.facade import STOP_CANCEL, STOP_PREEMPT, Job, lifecycle

LOST_LEASE = "lost_lease"  # the job is no longer this worker's: its results are dropped


class Heartbeat:
    def __init__(self, job_id: str, lease: str, interval_s: float) -> None:
        self.job_id = job_id
        self.lease = lease
        self.interval_s = interval_s
        self.stop_reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._done.wait(self.interval_s):
                self.beat()
        finally:
            connection.close()  # this thread's own connection

    def beat(self) -> None:
        mine = Job.objects.filter(
            id=self.job_id, lease_owner=self.lease, state__in=lifecycle.PLACED_STATES
        )
        if mine.update(heartbeat_at=timezone.now()):
            if Job.objects.filter(id=self.job_id, preempt_requested=True).exists():
                self.stop_reason = STOP_PREEMPT
            return
        row = Job.objects.filter(id=self.job_id).values("state").first()
        self.stop_reason = (
            STOP_CANCEL if row and row["state"] == lifecycle.CANCELLED else LOST_LEASE
        )
