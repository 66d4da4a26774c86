"""Least attained service (Tiresias' discretised 2D-LAS, scheduler.core.las): priority
first, then the LAS queue a job's attained device-seconds put it in, then submit order (jobs
of one queue keep FIFO order among themselves). A job's queue comes from the service it
has had, never from a duration estimate.
"""

from __future__ import annotations

from scheduler.core.las import LasQueues
from scheduler.core.model import JobRequest

# Two queues, as Tiresias found enough: a 1-device job leaves queue 0 after an hour of
# service (an 8-device job after 7.5 minutes); Philly's median job runs 19 minutes. Three
# queues (30 min, 5 h, 2 days) preempted 3.4 times per job on the Philly trace (a job a
# queue down preempts one two queues down) and ran several times slower.
QUEUES = LasQueues((3600.0,))


def sort_key(job: JobRequest) -> tuple[int, int, float]:
    return (-job.priority, QUEUES.queued_level(job), job.submit_time)
