"""Least attained service (Tiresias' discretised 2D-LAS): jobs that have received less
device-time go first. Attained service is bucketed into queues whose thresholds grow
geometrically, so jobs in one queue keep FIFO order among themselves (no thrashing on tiny
differences); a job's queue is set by its attained service, never by a duration estimate.
"""

from __future__ import annotations

import math

from scheduler.core.model import JobRequest

FIRST_THRESHOLD_S = 3600.0  # device-seconds in the first (highest) queue
THRESHOLD_GROWTH = 10.0  # each next queue holds 10x more attained service


def las_queue(attained_service_s: float) -> int:
    if attained_service_s < FIRST_THRESHOLD_S:
        return 0
    return 1 + int(math.log(attained_service_s / FIRST_THRESHOLD_S, THRESHOLD_GROWTH))


def sort_key(job: JobRequest) -> tuple[int, float]:
    return (las_queue(job.attained_service_s), job.submit_time)
