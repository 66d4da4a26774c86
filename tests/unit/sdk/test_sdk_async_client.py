"""`dojo.AsyncClient` against the fake JobService on a real gRPC server: the retry rules
(UNAVAILABLE with the same request id, RetryInfo waited out, a quota final, the budget), a
watch resumed after a dropped stream and after a full stream cap, the deadline and key on
every call — the same answers `dojo.Client` gives (test_sdk_client.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
import pytest

import dojo.retrying
from dojo import AsyncClient, errors
from dojo.config import ClientConfig
from dojo.v1 import job_pb2
from tests.unit.sdk.conftest import API_KEY

FakeJobService = Any  # the fixture's fake (conftest.py)
T = TypeVar("T")


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)


def spec() -> job_pb2.JobSpec:
    return job_pb2.JobSpec(name="t", training=job_pb2.TrainingSpec(steps=30, learning_rate=0.01))


def run(address: str, body: Callable[[AsyncClient], Awaitable[T]], **config: Any) -> T:
    async def main() -> T:
        cfg = ClientConfig(server=address, api_key=API_KEY, timeout=5, **config)
        async with AsyncClient(cfg) as client:
            return await body(client)

    return asyncio.run(main())


def test_create_retries_unavailable_with_the_same_request_id(
    fake: tuple[FakeJobService, str],
) -> None:
    service, address = fake

    async def body(c: AsyncClient) -> tuple[job_pb2.Job, job_pb2.Job]:
        first = await c.create_job(spec(), request_id="r-1")
        service.unavailable_next = 2
        return first, await c.create_job(spec(), request_id="r-1")

    first, again = run(address, body)
    assert again.name == first.name and len(service.jobs) == 1
    assert service.calls.count("CreateJob") == 4


def test_unavailable_beyond_the_retries_and_actions_sent_once(
    fake: tuple[FakeJobService, str],
) -> None:
    service, address = fake

    async def body(c: AsyncClient) -> None:
        service.unavailable_next = 99
        with pytest.raises(errors.UnavailableError):
            await c.get_job("x")
        assert service.calls.count("GetJob") == dojo.retrying.RETRY_ATTEMPTS
        with pytest.raises(errors.UnavailableError):
            await c.cancel_job("x")
        assert service.calls.count("CancelJob") == 1  # an action: never repeated blindly

    run(address, body)


def test_retry_info_is_waited_out_and_a_quota_is_final(fake: tuple[FakeJobService, str]) -> None:
    service, address = fake

    async def body(c: AsyncClient) -> float:
        job = await c.create_job(spec())
        service.busy_next = 2  # RESOURCE_EXHAUSTED with RetryInfo 0.05 s, twice
        started = time.monotonic()
        assert (await c.get_job(job.name)).name == job.name
        waited = time.monotonic() - started
        service.busy_next, service.busy_retry_after = 1, None
        with pytest.raises(errors.ResourceExhaustedError):
            await c.get_job(job.name)
        return waited

    assert run(address, body) >= 0.1
    assert service.calls.count("GetJob") == 4


def test_a_delay_past_the_retry_budget_is_raised_at_once(
    fake: tuple[FakeJobService, str],
) -> None:
    service, address = fake

    async def body(c: AsyncClient) -> None:
        job = await c.create_job(spec())
        service.busy_next, service.busy_retry_after = 1, 60.0
        with pytest.raises(errors.ResourceExhaustedError) as info:
            await c.get_job(job.name)
        assert info.value.retry_after == 60.0

    started = time.monotonic()
    run(address, body, retry_wait=0.5)
    assert time.monotonic() - started < 5


def test_watch_resumes_after_a_drop_and_a_full_stream_cap(
    fake: tuple[FakeJobService, str],
) -> None:
    service, address = fake

    async def body(c: AsyncClient) -> list[int]:
        job = await c.create_job(spec())
        service.finish(service.jobs[job.uid], job_pb2.SUCCEEDED)
        service.cut_watch_after = 2
        events = [e.id async for e in c.watch_job(job.name)]
        service.busy_next = 2
        assert [e.id async for e in c.watch_job(job.name, after_event_id=3)] == [4, 5]
        return events

    assert run(address, body) == [1, 2, 3, 4, 5]  # no gap, no repeat
    assert [r.after_event_id for r in service.watch_requests][:2] == [0, 2]
    assert service.calls.count("WatchJob") == 5  # dropped once, turned away twice


def test_every_call_has_the_deadline_and_the_key(fake: tuple[FakeJobService, str]) -> None:
    service, address = fake
    seen: list[tuple[float | None, object]] = []

    # grpc.aio files an interceptor under its first kind only: one class a kind
    class Unary(grpc.aio.UnaryUnaryClientInterceptor):
        async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
            seen.append((details.timeout, dict(details.metadata or ())))
            return await continuation(details, request)

    class Streams(grpc.aio.UnaryStreamClientInterceptor):
        async def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
            seen.append((details.timeout, dict(details.metadata or ())))
            return await continuation(details, request)

    async def main() -> None:
        channel = grpc.aio.insecure_channel(address, interceptors=[Unary(), Streams()])
        cfg = ClientConfig(server=address, api_key=API_KEY, timeout=7)
        async with AsyncClient(cfg, channel=channel) as c:
            job = await c.create_job(spec())
            service.finish(service.jobs[job.uid], job_pb2.SUCCEEDED)
            await c.get_job(job.name)
            [j async for j in c.list_jobs()]
            await c.estimate_job(spec())
            [e async for e in c.watch_job(job.name)]
            await c.cancel_job((await c.create_job(spec())).name)
        await channel.close()

    asyncio.run(main())
    assert len(seen) == 7
    assert all(t is not None and t > 0 for t, _ in seen) and seen[0][0] == 7
    assert all(md == {"authorization": f"Bearer {API_KEY}"} for _, md in seen)
