"""Priority first; among equal priority the tenant with the lowest weighted, usage-decayed
dominant share goes next (re-read after every admission, DRF-style: the queue interleaves
tenants on it); within a tenant, submit order.
"""

from __future__ import annotations

from scheduler.core.model import JobRequest


def sort_key(job: JobRequest) -> tuple[int, float]:
    return (-job.priority, job.submit_time)
