"""Least attained service (Tiresias' discretised 2D-LAS, scheduler.core.las): priority
first, then the LAS queue a job's attained device-seconds put it in, then submit order (jobs
of one queue keep FIFO order among themselves). A job's queue comes from the service it
has had, never from a duration estimate.
"""

from __future__ import annotations

from scheduler.core.las import LasQueues
from scheduler.core.model import JobRequest

# Device-seconds: a 1-device job leaves queue 0 after 30 min, queue 1 after 5 h, queue 2
# after 2 days (an 8-device job eight times sooner). Philly's median job runs 19 min.
QUEUES = LasQueues((1800.0, 18_000.0, 180_000.0))


def sort_key(job: JobRequest) -> tuple[int, int, float]:
    return (-job.priority, QUEUES.queued_level(job), job.submit_time)
