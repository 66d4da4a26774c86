"""Watchers of one job share one follower of its events, and the bytes of each event.

Each WatchJob stream of this process subscribes to its job's follower: one asyncio task per
watched job that polls the job's event log (event_stream.read_after, in the stream pool)
every POLL_INTERVAL_S, encodes each new event once (the servicer's `encode`: mapped to the
wire's message and serialized, in the same stream-pool call) and hands the batch of bytes to
every subscriber's queue, so a thousand watchers of a job cost one read, one mapping and one
serialization of each event, and then only the transport's write of the same bytes. A
follower starts with its job's first watcher and stops when its last watcher leaves, or once
the job is final and every event is handed out, or when the server drains.

The follower keeps the encoded events it has read (the last HISTORY of them), together with
the id after which it holds every event (`covered_from`: where its first read starts, the
first watcher's after_event_id or the job's newest event, whichever is lower). A watcher
subscribes first, waits until its follower knows where it starts, then takes what it has not
seen from that history and the follower's batches: no read of its own, so a job's first
watcher and the hundreds that join while it runs cost one read of each new event in all.
Only a watcher resuming from before what the history holds first reads the database itself
(from its own after_event_id). Batches that reach a watcher's queue meanwhile overlap what it
took, and it skips the ids it already sent: event ids become visible in increasing order
(event_stream), so nothing is lost or repeated.

Database polling, not Redis notifications: the database is the truth, and a poll costs a
few small queries per watched job per interval, however many streams watch that job.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable, Sequence
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
CATCH_UP_READS = Counter(
    "dojo_watch_catch_up_reads",
    "Reads of a job's event log by one WatchJob stream for itself (what its follower's "
    "history did not hold)",
)

HISTORY = 2000  # encoded events a follower keeps for watchers who join late

_END, _DRAIN = "end", "drain"
# Registers the stream's queue for a refusal of its key; returns how to let go (stream_auth).
Hold = Callable[[asyncio.Queue[Any]], Callable[[], None]]
# One event as the stream sends it: its id and its serialized wire message.
Encoded = tuple[int, bytes]
# The events → their encoded form, called in a stream-pool thread.
Encode = Callable[[Sequence[JobEvent]], list[Encoded]]


def _read_encoded(
    encode: Encode, principal: Principal, job_id: str, after_id: int
) -> tuple[list[Encoded], bool]:
    events, final = read_after(principal, job_id, after_id)
    return encode(events), final


class _Follower:
    """One job's poller, the queues of the streams that watch it, and its history."""

    def __init__(
        self, job_id: str, name: str, principal: Principal, after_id: int, encode: Encode, keep: int
    ) -> None:
        # The first watcher's principal scopes the reads (by organization); every watcher
        # was authorized for this job, and each decides its own key again on its own.
        self.job_id, self.name, self.principal, self.cursor = job_id, name, principal, after_id
        self.encode = encode
        self.queues: set[asyncio.Queue[Any]] = set()
        self.task: asyncio.Task[None] | None = None
        self.history: deque[Encoded] = deque(maxlen=keep)
        # Every event with an id above this is in `history` or not read yet; None until
        # the follower knows where it starts (then `started` is set).
        self.covered_from: int | None = None
        self.started = asyncio.Event()

    async def run(self, poll_s: float) -> None:
        # The first watcher's after_event_id may lie past the job's events: start no later
        # than the newest one, or a later watcher would miss what comes in between.
        latest = await in_stream_thread(latest_event_id, self.principal, self.job_id)
        self.cursor = self.covered_from = min(self.cursor, latest)
        self.started.set()
        while True:
            if draining.is_set():
                self.publish(_DRAIN)
                return
            FOLLOWER_READS.inc()
            events, final = await in_stream_thread(
                _read_encoded, self.encode, self.principal, self.job_id, self.cursor
            )
            if events:
                self.cursor = events[-1][0]
                self.remember(events)
                self.publish(events)
            if len(events) == BATCH:
                continue
            if final:
                self.publish(_END)
                return
            await asyncio.sleep(poll_s)

    def remember(self, events: list[Encoded]) -> None:
        overflow = len(self.history) + len(events) - (self.history.maxlen or 0)
        if overflow > 0:  # the oldest leave: the history now starts after the last of them
            self.covered_from = [*self.history, *events][overflow - 1][0]
        self.history.extend(events)

    def since(self, after_id: int) -> list[Encoded] | None:
        """The events after `after_id` from the history, or None when it does not hold
        all of them."""
        if self.covered_from is None or after_id < self.covered_from:
            return None
        return [item for item in self.history if item[0] > after_id]

    def publish(self, item: Any) -> None:
        for queue in self.queues:
            queue.put_nowait(item)


class WatchHub:
    """The followers of one server (used on its event loop only)."""

    def __init__(self, poll_s: float = POLL_INTERVAL_S, history: int = HISTORY) -> None:
        self.poll_s, self.history = poll_s, history
        self._followers: dict[str, _Follower] = {}

    def followers(self) -> int:
        """Jobs followed now (one follower each, however many watch them)."""
        return len(self._followers)

    def followed(self, principal: Principal, job_id: str) -> str | None:
        """The resource name of job `job_id` when this hub follows it for the principal's
        organization (so it exists there: jobs are never deleted), else None."""
        follower = self._followers.get(job_id)
        if follower is None or follower.principal.organization.pk != principal.organization.pk:
            return None
        return follower.name

    async def watch(
        self,
        principal: Principal,
        job_id: str,
        name: str,
        after_id: int,
        hold: Hold,
        encode: Encode,
    ) -> AsyncGenerator[bytes, None]:
        """The events of job `job_id` (resource `name`) with id > after_id until it is
        final, each as `encode` made it (once for every watcher of the job). `hold`
        registers the stream for a refusal of its key, which ends the stream with that
        error. Unavailable when the server drains, naming the last event sent."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        release = hold(queue)
        follower = self._subscribe(principal, job_id, name, after_id, queue, encode)
        WATCHERS.inc()
        try:
            last = after_id
            # Subscribed already: what the follower publishes meanwhile waits in the queue
            # (and what is both there and in the history is skipped below by its id).
            await follower.started.wait()
            seen = follower.since(after_id)
            if seen is not None:  # the follower's history holds all it has not seen
                for event_id, data in seen:
                    last = event_id
                    yield data
            else:
                while True:  # what this watcher has not seen, from the database
                    CATCH_UP_READS.inc()
                    events, final = await in_stream_thread(
                        _read_encoded, encode, principal, job_id, last
                    )
                    for event_id, data in events:
                        last = event_id
                        yield data
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
                for event_id, data in item:
                    if event_id > last:
                        last = event_id
                        yield data
        finally:
            WATCHERS.dec()
            release()
            self._unsubscribe(follower, queue)

    def _subscribe(
        self,
        principal: Principal,
        job_id: str,
        name: str,
        after_id: int,
        queue: asyncio.Queue[Any],
        encode: Encode,
    ) -> _Follower:
        """The job's follower (started when there is none) with `queue` subscribed."""
        follower = self._followers.get(job_id)
        if follower is None:
            follower = self._followers[job_id] = _Follower(
                job_id, name, principal, after_id, encode, self.history
            )
            FOLLOWERS.inc()
            follower.task = asyncio.create_task(self._run(follower))
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
            follower.started.set()  # a watcher still waiting reads for itself, or raises
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
