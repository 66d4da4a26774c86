"""WatchJob's event feed: reads of the job's event log after the last id seen.

The database is the truth, so the feed is a poll of it; resuming after an event id is the
same query. That is sound because a job's event ids become visible in increasing order: each
insert holds the job's row lock until its transaction commits (jobs.models.lock_event_logs),
so no event with a lower id can commit after a higher one was read. `read_after` is one
poll; the server's watchers share one poller per job (watch_hub); `follow_events` is the
same feed as a plain generator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from dojocloud.jobs.facade import JobEvent, events_of, get_job
from dojocloud.tenancy.facade import Principal

POLL_INTERVAL_S = 0.25
BATCH = 500

# Set when the server starts draining: open streams end (with UNAVAILABLE, see the servicer)
# so clients reconnect elsewhere instead of holding up shutdown for the whole grace period.
draining = threading.Event()


def read_after(principal: Principal, job_id: str, after_id: int) -> tuple[list[JobEvent], bool]:
    """Up to BATCH events of the job with id > after_id, and whether the job was final
    before they were read: then, when fewer than BATCH came, there will be no more."""
    # Read the state before the events: all events written before a final state are then
    # in this batch or a later one, so none is lost at the end.
    job = get_job(principal, job_id)
    return events_of(job, after_id=after_id, limit=BATCH), job.is_final


def follow_events(
    principal: Principal,
    job_id: str,
    *,
    after_id: int = 0,
    active: Callable[[], bool] = lambda: True,
    poll_s: float | None = None,
    refresh: Callable[[], Principal] | None = None,
) -> Iterator[JobEvent]:
    """Events of the job with id > after_id, as they are written, until the job is final.
    `refresh` decides the caller again before every poll after the first (its errors end
    the stream)."""
    last, first = after_id, True
    while active() and not draining.is_set():
        if refresh is not None and not first:
            principal = refresh()
        first = False
        events, final = read_after(principal, job_id, last)
        for event in events:
            last = event.id
            yield event
        if len(events) == BATCH:
            continue
        if final:
            return
        draining.wait(POLL_INTERVAL_S if poll_s is None else poll_s)
