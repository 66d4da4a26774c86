"""`dojo.AsyncClient` against the real API server (port 0, this process, the test database):
jobs created, read, listed, watched and cancelled; a dataset uploaded; typed errors
(another tenant's job NOT_FOUND, INVALID_ARGUMENT naming the fields); a call turned away
with RESOURCE_EXHAUSTED and RetryInfo waited out and answered; deadlines; TLS."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import numpy as np
import pytest
from django.db import connection

from dojo import AsyncClient, errors
from dojo.config import ClientConfig
from dojo.v1 import dataset_pb2, job_pb2
from dojocloud.api.grpc_app import ServerTLS, build_api_server
from dojocloud.jobs.transitions import transition
from tests.integration.api.conftest import Keys
from tests.support.grpc_server import serving
from tests.support.people import make_spec
from tests.support.tls import PKI, make_pki

pytestmark = pytest.mark.django_db(transaction=True)
T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def client(address: str, api_key: str, **config: object) -> AsyncClient:
    return AsyncClient(ClientConfig(server=address, api_key=api_key, timeout=30, **config))  # type: ignore[arg-type]


def names(jobs: list[job_pb2.Job]) -> list[str]:
    return [j.name for j in jobs]


def test_create_get_list_watch_cancel(address: str, keys: Keys) -> None:
    async def scenario() -> None:
        async with client(address, keys.acme) as acme:
            first = await acme.create_job(make_spec())
            second = await acme.create_job(make_spec(), request_id="once")
            assert (await acme.create_job(make_spec(), request_id="once")).name == second.name
            assert first.state == job_pb2.QUEUED and first.name.startswith("organizations/acme/")
            assert (await acme.get_job(first.name)).uid == first.uid
            listed = [j async for j in acme.list_jobs(page_size=1)]  # one page a job
            assert names(listed) == [second.name, first.name]
            assert (await acme.estimate_job(make_spec()))[0].accelerator

            watched: list[job_pb2.JobEvent] = []

            async def watch() -> None:
                async for event in acme.watch_job(first.name, stream_timeout=0.5):
                    watched.append(event)

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(1.2)  # past two stream deadlines: the watch reconnects
            assert not watcher.done()
            cancelled = await acme.cancel_job(first.name, reason="changed my mind")
            await asyncio.wait_for(watcher, 20)  # the stream ends: the job is final
            assert cancelled.state == job_pb2.CANCELLED
            states = [e.state_change.to_state for e in watched if e.HasField("state_change")]
            assert states == [job_pb2.QUEUED, job_pb2.CANCELLED]  # nothing repeated
            queued = [j async for j in acme.list_jobs(state="queued")]
            assert names(queued) == [second.name]

    run(scenario)


def test_watch_follows_a_running_job(address: str, keys: Keys) -> None:
    async def scenario() -> None:
        async with client(address, keys.acme) as acme:
            job = await acme.create_job(make_spec())
            jid = job.name.rsplit("/", 1)[-1]

            def progress() -> None:  # as a worker would, through the jobs context
                try:
                    for state in ("SCHEDULED", "RUNNING", "SUCCEEDED"):
                        time.sleep(0.2)
                        assert transition(jid, state, state.lower()) is not None
                finally:
                    connection.close()

            worker = asyncio.create_task(asyncio.to_thread(progress))
            events = [e async for e in acme.watch_job(job.name)]
            await worker
            assert [job_pb2.JobState.Name(e.state_change.to_state) for e in events] == [
                "QUEUED",
                "SCHEDULED",
                "RUNNING",
                "SUCCEEDED",
            ]
            log, end = await acme.read_job_log(job.name)
            assert end == len(log)

    run(scenario)


@pytest.fixture
def storage(settings: object, tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    settings.STORAGE_URL = root.as_uri()  # type: ignore[attr-defined]
    settings.CACHE_DIR = tmp_path / "cache"  # type: ignore[attr-defined]
    return root


def test_upload_a_dataset_and_find_it(
    address: str, keys: Keys, storage: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    x = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    np.savez(buffer, x=x, y=(np.arange(40) % 3).astype(np.int64))
    path = tmp_path / "digits.npz"
    path.write_bytes(buffer.getvalue())
    seen: list[int] = []

    async def scenario() -> None:
        async with client(address, keys.acme) as acme, client(address, keys.globex) as globex:
            made = await acme.create_dataset(
                path, "tiny", on_progress=lambda done, _total: seen.append(done)
            )
            assert made.name == "organizations/acme/datasets/tiny"
            assert made.format == dataset_pb2.NPZ and made.size_bytes == path.stat().st_size
            again = await acme.create_dataset(path, "tiny")  # the same upload: resumed, done
            assert again.name == made.name
            assert [d.name async for d in acme.list_datasets()] == [made.name]
            with pytest.raises(errors.NotFoundError):
                await globex.get_dataset(made.name)
            await acme.delete_dataset(made.name)
            assert [d async for d in acme.list_datasets()] == []

    run(scenario)
    assert seen[-1] == path.stat().st_size


def test_errors_are_typed(address: str, keys: Keys) -> None:
    async def scenario() -> None:
        async with client(address, keys.acme) as acme, client(address, keys.globex) as globex:
            job = await acme.create_job(make_spec())
            for call in (
                lambda: globex.get_job(job.name),
                lambda: globex.cancel_job(job.name),
                lambda: globex.get_job(job.uid),
            ):
                with pytest.raises(errors.NotFoundError):
                    await call()
            with pytest.raises(errors.NotFoundError):
                [e async for e in globex.watch_job(job.name)]
            bad = make_spec()
            bad.training.learning_rate, bad.training.steps = -1.0, 0
            with pytest.raises(errors.InvalidArgumentError) as info:
                await acme.create_job(bad)
            fields = {v.field for v in info.value.field_violations}
            assert {"training.learning_rate", "training.steps"} <= fields
            assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(errors.InvalidArgumentError) as info:
                await acme.list_jobs_page(filter="colour=red")
            assert [v.field for v in info.value.field_violations] == ["filter"]
        async with client(address, "dojo_nope_nope") as stranger:
            with pytest.raises(errors.UnauthenticatedError):
                await stranger.list_jobs_page()

    run(scenario)


def test_deadlines(address: str, keys: Keys) -> None:
    async def scenario() -> None:
        async with client(address, keys.acme) as acme:
            with pytest.raises(errors.DeadlineExceededError):
                await acme.list_jobs_page(timeout=0.0001)
            assert (await acme.list_jobs_page(timeout=10)).jobs == []

    run(scenario)
    unreachable = ClientConfig(server="127.0.0.1:1", api_key="k", timeout=1, retry_wait=0)

    async def nowhere() -> None:
        async with AsyncClient(unreachable) as c:
            await c.get_job("x")

    with pytest.raises(errors.UnavailableError) as info:
        run(nowhere)
    assert "cannot reach the Dojo Cloud API at 127.0.0.1:1" in info.value.message


@pytest.fixture
def limited(settings, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = redis_url
    settings.AUTH_FAILURE_LIMIT = 3
    settings.AUTH_FAILURE_WINDOW_S = 1.5


def test_a_call_turned_away_with_retry_info_is_retried_after_its_delay(
    limited: None, address: str, keys: Keys
) -> None:
    """Three wrong keys from 127.0.0.1 make the server refuse every call from that address
    with RESOURCE_EXHAUSTED and RetryInfo until its window passes."""

    async def scenario() -> float:
        async with client(address, "dojo_nope_wrongsecret") as guesser:
            for _ in range(3):
                with pytest.raises(errors.UnauthenticatedError):
                    await guesser.list_jobs_page()
        async with client(address, keys.acme, retry_wait=0) as hasty:
            with pytest.raises(errors.ResourceExhaustedError) as info:
                await hasty.list_jobs_page()
            assert info.value.retry_after is not None and 0 < info.value.retry_after <= 1.5
        async with client(address, keys.acme, retry_wait=30) as patient:
            started = time.monotonic()
            assert (await patient.list_jobs_page()).jobs == []  # waited, then answered
            return time.monotonic() - started

    waited = run(scenario)
    assert 0.2 < waited < 10


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("async-pki"))


@pytest.fixture
def tls_address(transactional_db: None, pki: PKI) -> Iterator[str]:
    built = build_api_server("127.0.0.1:0", max_workers=8, tls=ServerTLS.load(pki.cert, pki.key))
    with serving(built, 1.0) as address:
        yield address


def test_tls_with_the_ca_and_without(tls_address: str, keys: Keys, pki: PKI) -> None:
    config = ClientConfig(server=tls_address, api_key=keys.acme, timeout=30, retry_wait=0)

    async def trusted() -> str:
        async with AsyncClient(config, tls_ca=pki.ca) as acme:
            job = await acme.create_job(make_spec())
            assert names([j async for j in acme.list_jobs()]) == [job.name]
            return job.name

    assert run(trusted).startswith("organizations/acme/jobs/")

    async def untrusted() -> None:
        async with AsyncClient(config, tls_ca=pki.stranger_ca) as acme:
            await acme.list_jobs_page()

    with pytest.raises(errors.UnavailableError) as info:
        run(untrusted)
    assert "DOJO_TLS_CA" in info.value.message

    async def plain() -> None:
        async with AsyncClient(config) as acme:  # plain text to a TLS port
            await acme.list_jobs_page()

    with pytest.raises(errors.UnavailableError) as info:
        run(plain)
    assert "DOJO_TLS=1" in info.value.message
