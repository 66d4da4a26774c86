"""Priority first; among equal priority the tenant with the lowest weighted, usage-decayed
dominant share goes next (re-read after every admission, DRF-style: the queue interleaves
tenants on it); within a tenant, the job's least-attained-service queue
(scheduler.core.las; queue 0 for a job with a run-time estimate), then shortest estimated
remaining time first where an estimate exists (least attained service for jobs without
one, see scheduler.core.remaining), then submit order.

Fair share comes before the LAS queue, not after: measured on seeded multi-tenant
workloads with equal quotas, the other way round (a tenant's fresh jobs ahead of every
tenant's demoted ones) cut the average JCT by about a tenth but let the busiest tenant
take 1.6x its entitlement (Jain's index 0.87 instead of 0.999).
"""

from __future__ import annotations

from scheduler.core.las import LasQueues
from scheduler.core.model import JobRequest
from scheduler.core.remaining import queued_remaining

# Device-seconds, as the `las` policy's (see there).
QUEUES = LasQueues((1800.0, 18_000.0, 180_000.0))


def sort_key(job: JobRequest) -> tuple[int, int, float, float]:
    return (-job.priority, QUEUES.unknown_level(job), queued_remaining(job), job.submit_time)
