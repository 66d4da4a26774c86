"""Priority first; among equal priority the tenant with the lowest weighted, usage-decayed
dominant share goes next (re-read after every admission, DRF-style: the queue interleaves
tenants on it); within a tenant, shortest estimated remaining time first (least attained
service for jobs without an estimate, see scheduler.core.remaining), then submit order.
"""

from __future__ import annotations

from scheduler.core.model import JobRequest
from scheduler.core.remaining import queued_remaining


def sort_key(job: JobRequest) -> tuple[int, float, float]:
    return (-job.priority, queued_remaining(job), job.submit_time)
