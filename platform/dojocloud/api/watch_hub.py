"""Watchers of one job share one follower of its events.

Each WatchJob stream of this process subscribes to its job's follower: one asyncio task per
watched job that polls the job's event log (event_stream.read_after, in the stream pool)
every POLL_INTERVAL_S and hands each new batch to every subscriber's queue. A follower
starts with its job's first watcher and stops when its last watcher leaves, or once the job
is final and every event is handed out, or when the server drains. A watcher first reads
what it has not seen from the database (from its own after_event_id), then takes the
follower's batches, skipping the ids it already sent: event ids become visible in
increasing order (event_stream), so nothing is lost or repeated.

Database polling, not Redis notifications: the database is the truth, and a poll costs two
small queries per watched job per interval, however many streams watch that job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

from prometheus_client import Counter, Gauge

from dojocloud.api.event_stream import BATCH, POLL_INTERVAL_S, draining, read_after
from dojocloud.api.offload import in_stream_thread
from dojocloud.common.errors import Unavailable
from dojocloud.jobs.facade import JobEvent, latest_event_id
from dojocloud.tenancy.facade import Principal

FOLLOWERS = Gauge(
    "dojo_watch_followers",
    "Jobs whose events this API process follows for its WatchJob streams (one per job)",
    multiprocess_mode="livesum",
)
WATCHERS = Gauge("dojo_watch_streams", "Open WatchJob streams", multiprocess_mode="livesum")
FOLLOWER_READS = Counter(
    "dojo_watch_follower_reads", "Reads of a job's event log by the shared followers"
)

_END, _DRAIN = "end", "drain"
# Registers the stream's queue for a refusal of its key; returns how to let go (stream_auth).
Hold = Callable[[asyncio.Queue[Any]], Callable[[], None]]


class _Follower:
    """One job's poller and the queues of the streams that watch it."""

    def __init__(self, job_id: str, principal: Principal, after_id: int) -> None:
        # The first watcher's principal scopes the reads (by organization); every watcher
        # was authorized for this job, and each decides its own key again on its own.
        self.job_id, self.principal, self.cursor = job_id, principal, after_id
        self.queues: set[asyncio.Queue[Any]] = set()
        self.task: asyncio.Task[None] | None = None

    async def run(self, poll_s: float) -> None:
        # The first watcher's after_event_id may lie past the job's events: start no later
        # than the newest one, or a later watcher would miss what comes in between.
        latest = await in_stream_thread(latest_event_id, self.principal, self.job_id)
        self.cursor = min(self.cursor, latest)
        while True:
            if draining.is_set():
                self.publish(_DRAIN)
                return
            FOLLOWER_READS.inc()
            events, final = await in_stream_thread(
                read_after, self.principal, self.job_id, self.cursor
            )
            if events:
                self.cursor = events[-1].id
                self.publish(events)
            if len(events) == BATCH:
                continue
            if final:
                self.publish(_END)
                return
            await asyncio.sleep(poll_s)

    def publish(self, item: Any) -> None:
        for queue in self.queues:
            queue.put_nowait(item)


class WatchHub:
    """The followers of one server (used on its event loop only)."""

    def __init__(self, poll_s: float = POLL_INTERVAL_S) -> None:
        self.poll_s = poll_s
        self._followers: dict[str, _Follower] = {}

    def followers(self) -> int:
        """Jobs followed now (one follower each, however many watch them)."""
        return len(self._followers)

    async def watch(
        self, principal: Principal, job_id: str, after_id: int, hold: Hold
    ) -> AsyncGenerator[JobEvent, None]:
        """The job's events with id > after_id until it is final. `hold` registers the
        stream for a refusal of its key, which ends the stream with that error. Unavailable
        when the server drains, naming the last event sent."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        release = hold(queue)
        follower = self._subscribe(principal, job_id, after_id, queue)
        WATCHERS.inc()
        try:
            last = after_id
            while True:  # what this watcher has not seen, from the database
                events, final = await in_stream_thread(read_after, principal, job_id, last)
                for event in events:
                    last = event.id
                    yield event
                if len(events) < BATCH:
                    break
            if final:
                return
            while True:  # then the follower's batches: no wake-up without something to do
                item = await queue.get()
                if item == _END:
                    return
                if item == _DRAIN:
                    raise Unavailable(f"server shutting down; resume after event {last}")
                if isinstance(item, BaseException):
                    raise item
                for event in item:
                    if event.id > last:
                        last = event.id
                        yield event
        finally:
            WATCHERS.dec()
            release()
            self._unsubscribe(follower, queue)

    def _subscribe(
        self, principal: Principal, job_id: str, after_id: int, queue: asyncio.Queue[Any]
    ) -> _Follower:
        follower = self._followers.get(job_id)
        if follower is None:
            follower = self._followers[job_id] = _Follower(job_id, principal, after_id)
            FOLLOWERS.inc()
            follower.queues.add(queue)
            follower.task = asyncio.create_task(self._run(follower))
        else:
            follower.queues.add(queue)
        return follower

    async def _run(self, follower: _Follower) -> None:
        try:
            await follower.run(self.poll_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - each watcher raises it, mapped there
            follower.publish(exc)
        finally:
            self._ended(follower)

    def _unsubscribe(self, follower: _Follower, queue: asyncio.Queue[Any]) -> None:
        follower.queues.discard(queue)
        if not follower.queues and follower.task is not None and not follower.task.done():
            follower.task.cancel()  # its last watcher left
            self._ended(follower)

    def _ended(self, follower: _Follower) -> None:
        if self._followers.get(follower.job_id) is follower:
            del self._followers[follower.job_id]
            FOLLOWERS.dec()
