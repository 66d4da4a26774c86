"""StreamJobLogs' feed: the job's log from a byte offset, chunk by chunk; in follow mode it
polls for new chunks until the job is final and every byte is sent.

Resuming is the same read from the last next_offset a client saw. Follow mode reads the
job's state before the log, and the worker writes a segment's lines out before it records
the segment's end, so once a final state is read the log holds every line: one more read
after it and the stream ends with nothing lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dojocloud.api.event_stream import draining
from dojocloud.jobs.facade import LogRead, get_job, read_job_log
from dojocloud.tenancy.facade import Principal

POLL_INTERVAL_S = 0.25


def follow_log(
    principal: Principal,
    job_id: str,
    *,
    offset: int = 0,
    follow: bool = False,
    active: Callable[[], bool] = lambda: True,
    poll_s: float = POLL_INTERVAL_S,
    refresh: Callable[[], Principal] | None = None,
) -> Iterator[LogRead]:
    """Non-empty reads of the log from `offset`; without follow, up to the log's end now."""
    first = True
    while active() and not draining.is_set():
        if refresh is not None and not first:
            principal = refresh()
        first = False
        final = get_job(principal, job_id).is_final
        read = read_job_log(principal, job_id, offset=offset)
        if read.data:
            offset = read.next_offset
            yield read
        if read.next_offset < read.size:
            continue  # more of it already there
        if final or not follow:
            return
        draining.wait(poll_s)
