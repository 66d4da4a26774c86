"""Many WatchJob streams on one real API server (grpc.aio, 8 unary threads): every stream is
served and gets every event of its job, unary calls are answered while they are open, and
the streams of one job share one follower that stops when its last watcher leaves.

The streams are opened from a grpc.aio channel in this test's own event loop (200 threads
of a sync client would measure the test, not the server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from dojo.client import Client
from dojo.v1 import job_pb2, job_pb2_grpc
from tests.integration.api.conftest import Keys
from tests.integration.api.test_api_watch import FULL, _spec, drive, in_thread, job_id, kinds

pytestmark = pytest.mark.django_db(transaction=True)

STREAMS = 200


def followers() -> float:
    return REGISTRY.get_sample_value("dojo_watch_followers") or 0.0


def open_streams() -> float:
    return REGISTRY.get_sample_value("dojo_watch_streams") or 0.0


async def until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


def run(address: str, key: str, body: Callable[[Any, Any], Awaitable[None]]) -> None:
    """`body(stub, metadata)` on a grpc.aio channel to the server, in a loop of its own."""

    async def main() -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            await body(job_pb2_grpc.JobServiceStub(channel), (("authorization", f"Bearer {key}"),))

    asyncio.run(main())


def test_200_streams_are_all_served_and_all_get_every_event(
    address: str, keys: Keys, acme: Client
) -> None:
    job = acme.create_job(_spec())
    base_followers, base_streams = followers(), open_streams()

    async def body(stub: Any, md: Any) -> None:
        request = job_pb2.WatchJobRequest(name=job.name)
        calls = [stub.WatchJob(request, metadata=md, timeout=120) for _ in range(STREAMS)]
        firsts = await asyncio.gather(*(call.read() for call in calls))
        assert kinds(list(firsts)) == ["QUEUED"] * STREAMS  # every stream open and served
        assert open_streams() == base_streams + STREAMS
        assert followers() == base_followers + 1  # one follower for the one job

        # More streams than the server has threads, and a unary call still gets through.
        got = await stub.GetJob(job_pb2.GetJobRequest(name=job.name), metadata=md, timeout=10)
        assert got.name == job.name

        worker = in_thread(lambda: drive(job_id(job), pause=0.05))
        rests = await asyncio.gather(*(_rest(call) for call in calls))
        await asyncio.get_running_loop().run_in_executor(None, worker.join, 30)
        for first, rest in zip(firsts, rests, strict=True):
            events = [first, *rest]
            assert kinds(events) == FULL
            assert [e.id for e in events] == sorted({e.id for e in events})
        await until(lambda: followers() == base_followers, "the follower stopped")
        assert open_streams() == base_streams

    run(address, keys.acme, body)


def catch_up_reads() -> float:
    return REGISTRY.get_sample_value("dojo_watch_catch_up_reads_total") or 0.0


def test_late_watchers_of_a_followed_job_take_its_history_and_read_nothing_themselves(
    address: str, keys: Keys, acme: Client
) -> None:
    job = acme.create_job(_spec())

    async def body(stub: Any, md: Any) -> None:
        def watch(after: int = 0) -> Any:
            request = job_pb2.WatchJobRequest(name=job.name, after_event_id=after)
            return stub.WatchJob(request, metadata=md, timeout=120)

        first = watch()
        queued = await first.read()
        await until(lambda: followers() >= 1, "the follower started")
        worker = in_thread(lambda: drive(job_id(job), pause=0.3))
        scheduled = await first.read()  # the follower has read past QUEUED
        reads = catch_up_reads()
        late = [watch() for _ in range(20)] + [watch(after=queued.id)]
        lates = await asyncio.gather(*(_rest(call) for call in late))
        rest = await _rest(first)
        await asyncio.get_running_loop().run_in_executor(None, worker.join, 30)
        assert catch_up_reads() == reads  # all from the follower's history and batches
        assert kinds([queued, scheduled, *rest]) == FULL
        for events in lates[:-1]:
            assert kinds(events) == FULL
            assert [e.id for e in events] == sorted({e.id for e in events})
            assert all(e.job == job.name for e in events)
        assert kinds(lates[-1]) == FULL[1:]  # resumed after QUEUED

    run(address, keys.acme, body)


def test_one_follower_per_job_and_it_stops_with_its_last_watcher(
    address: str, keys: Keys, acme: Client
) -> None:
    a, b = acme.create_job(_spec()), acme.create_job(_spec())
    base = followers()

    async def body(stub: Any, md: Any) -> None:
        def watch(name: str) -> Any:
            return stub.WatchJob(job_pb2.WatchJobRequest(name=name), metadata=md, timeout=120)

        on_a = [watch(a.name) for _ in range(5)]
        on_b = [watch(b.name) for _ in range(3)]
        await asyncio.gather(*(call.read() for call in on_a + on_b))
        assert followers() == base + 2

        for call in on_a[:4]:
            call.cancel()
        await until(lambda: open_streams() <= 4, "four streams left")
        assert followers() == base + 2  # a's last watcher is still there

        on_a[4].cancel()
        await until(lambda: followers() == base + 1, "a's follower stopped")

        late = watch(a.name)  # a new watcher of a starts a new follower, from the start
        assert kinds([await late.read()]) == ["QUEUED"]
        assert followers() == base + 2
        for call in [late, *on_b]:
            call.cancel()
        await until(lambda: followers() == base, "every follower stopped")

    run(address, keys.acme, body)


def test_a_late_watcher_resumes_after_its_event_while_others_follow(
    address: str, keys: Keys, acme: Client
) -> None:
    job = acme.create_job(_spec())

    async def body(stub: Any, md: Any) -> None:
        early = stub.WatchJob(job_pb2.WatchJobRequest(name=job.name), metadata=md, timeout=120)
        first = await early.read()
        worker = in_thread(lambda: drive(job_id(job), pause=0.3))
        second = await early.read()  # SCHEDULED: the job moves while `early` follows it
        late = stub.WatchJob(
            job_pb2.WatchJobRequest(name=job.name, after_event_id=first.id),
            metadata=md,
            timeout=120,
        )
        early_rest, late_all = await asyncio.gather(_rest(early), _rest(late))
        await asyncio.get_running_loop().run_in_executor(None, worker.join, 30)
        assert kinds([first, second, *early_rest]) == FULL
        assert kinds(late_all) == FULL[1:]  # from after QUEUED, nothing lost or repeated

    run(address, keys.acme, body)


def test_a_first_watcher_past_the_last_event_does_not_blind_the_others(
    address: str, keys: Keys, acme: Client
) -> None:
    """The follower starts from the job's newest event, not from a first watcher's
    after_event_id beyond it."""
    job = acme.create_job(_spec())

    async def body(stub: Any, md: Any) -> None:
        def watch(after: int) -> Any:
            request = job_pb2.WatchJobRequest(name=job.name, after_event_id=after)
            return stub.WatchJob(request, metadata=md, timeout=120)

        ahead = watch(10**12)  # creates the follower
        await until(lambda: open_streams() >= 1, "the first stream opened")
        normal = watch(0)
        assert kinds([await normal.read()]) == ["QUEUED"]
        worker = in_thread(lambda: drive(job_id(job), pause=0.05))
        rest = await _rest(normal)
        await asyncio.get_running_loop().run_in_executor(None, worker.join, 30)
        assert kinds([job_pb2.JobEvent(state_change={"to_state": job_pb2.QUEUED}), *rest]) == FULL
        assert await _rest(ahead) == []  # ended with the job, having nothing to send

    run(address, keys.acme, body)


async def _rest(call: Any) -> list[job_pb2.JobEvent]:
    out = []
    while (event := await call.read()) is not grpc.aio.EOF:
        out.append(event)
    return out
