"""Strict FIFO: submit time (then job id). Priorities and tenants are ignored."""

from __future__ import annotations

from scheduler.core.model import JobRequest


def sort_key(job: JobRequest) -> tuple[float]:
    return (job.submit_time,)
