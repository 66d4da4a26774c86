"""StreamJobLogs' feed: the job's log from a byte offset, chunk by chunk; in follow mode it
polls for new chunks until the job is final and every byte is sent.

Resuming is the same read from the last next_offset a client saw. Follow mode reads the
job's state before the log, and the worker writes a segment's lines out before it records
the segment's end, so once a final state is read the log holds every line: one more read
after it and the stream ends with nothing lost. The feed is an async generator on the API
server's loop; each read runs in the stream pool (offload), and it waits between polls
without holding a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

from dojocloud.api.event_stream import draining
from dojocloud.api.offload import in_stream_thread
from dojocloud.jobs.facade import LogRead, get_job, read_job_log
from dojocloud.tenancy.facade import Principal

POLL_INTERVAL_S = 0.25


def read_once(principal: Principal, job_id: str, offset: int) -> tuple[LogRead, bool]:
    """The log from `offset` (one read's worth), and whether the job was final before."""
    final = get_job(principal, job_id).is_final
    return read_job_log(principal, job_id, offset=offset), final


async def follow_log(
    principal: Principal,
    job_id: str,
    *,
    offset: int = 0,
    follow: bool = False,
    poll_s: float = POLL_INTERVAL_S,
    refresh: Callable[[], Awaitable[Principal]] | None = None,
) -> AsyncGenerator[LogRead, None]:
    """Non-empty reads of the log from `offset`; without follow, up to the log's end now.
    `refresh` decides the caller again before every poll after the first."""
    first = True
    while not draining.is_set():
        if refresh is not None and not first:
            principal = await refresh()
        first = False
        read, final = await in_stream_thread(read_once, principal, job_id, offset)
        if read.data:
            offset = read.next_offset
            yield read
        if read.next_offset < read.size:
            continue  # more of it already there
        if final or not follow:
            return
        await asyncio.sleep(poll_s)
