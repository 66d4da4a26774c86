"""createjob_throughput: CreateJob submits/s with 32 concurrent clients over the wire, on
PostgreSQL when DATABASE_URL names a server (a fresh database, dropped after; else SQLite).

The API is a real `manage.py serve_grpc` process (no scheduling loop, no rate limit); the
clients are 32 `dojo.AsyncClient`s (one channel each) in this process, each submitting the
example job back to back for DOJO_BENCH_CREATEJOB_S seconds (default 20). Baseline: the
same service function the servicer calls (dojocloud.jobs.facade.create_job), called by 32
threads in this process for as long: the platform's own cost without the wire, the
interceptors (API-key check) or the answer's mapping. ratio = wire / in-process submits/s.

Where the time goes: CPU seconds per submit of the API process, of this (client) process
and of the machine's PostgreSQL processes during the wire phase, the queries per submit,
and a cProfile of in-process submits (the functions with the most own time). How busy the
machine was during the wire phase (`wire_machine_busy`, benchmarks.cpu_meter) and the load
average at the end say what else ran.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks.cpu_meter import CpuMeter
from benchmarks.databases import bench_database, setup_django
from benchmarks.report import bench
from devstack import REPO
from dojo import AsyncClient, specfile
from dojo.config import ClientConfig

CLIENTS = 32
DURATION_S = float(os.environ.get("DOJO_BENCH_CREATEJOB_S", "20"))
PROFILED_SUBMITS = 200
SPEC = specfile.load(str(REPO / "examples" / "digits-mlp.yaml"))


@dataclass
class Phase:
    seconds: list[float] = field(default_factory=list)  # one latency a submit
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # process group -> CPU seconds

    @property
    def per_s(self) -> float:
        return len(self.seconds) / self.wall_s

    def ms(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def cpu_ms_per_submit(self) -> dict[str, float]:
        return {k: round(1000 * v / len(self.seconds), 2) for k, v in self.cpu_s.items()}


def _cpu_by_pid(procs: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.Error:  # a PostgreSQL backend that ended
            pass
    return out


class Meter:
    """CPU seconds of this process, the API process and this bench database's PostgreSQL
    backends, and the wall time, from `start` to `stop`. A backend born in between counts
    whole; one that ended in between is missed (the API keeps its connections for
    DOJO_DB_CONN_MAX_AGE_S, so its backends are counted)."""

    def __init__(self, server_pid: int | None, database: str) -> None:
        self.database = database
        self.own = [psutil.Process()] + ([psutil.Process(server_pid)] if server_pid else [])
        self.names = {p.pid: "client" if p.pid == os.getpid() else "api" for p in self.own}

    def _backends(self) -> list[psutil.Process]:
        return [  # this bench's database's, not other sessions'
            p
            for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and self.database in " ".join(p.info["cmdline"] or ())
        ]

    def start(self) -> None:
        self.before = _cpu_by_pid(self.own + self._backends())
        self.t0 = time.perf_counter()

    def stop(self, phase: Phase) -> None:
        phase.wall_s = time.perf_counter() - self.t0
        after = _cpu_by_pid(self.own + self._backends())
        phase.cpu_s = {}
        for pid, seconds in after.items():
            group = self.names.get(pid, "postgres")
            phase.cpu_s[group] = phase.cpu_s.get(group, 0.0) + seconds - self.before.get(pid, 0)


async def _over_the_wire(address: str, api_key: str, server_pid: int, database: str) -> Phase:
    config = ClientConfig(server=address, api_key=api_key, timeout=60)
    clients = [AsyncClient(config) for _ in range(CLIENTS)]
    phase = Phase()
    try:
        await asyncio.gather(*(c.create_job(SPEC) for c in clients))  # connect, warm up
        meter = Meter(server_pid, database)
        meter.start()
        until = time.perf_counter() + DURATION_S

        async def submit(client: AsyncClient) -> None:
            while (t0 := time.perf_counter()) < until:
                await client.create_job(SPEC)
                phase.seconds.append(time.perf_counter() - t0)

        await asyncio.gather(*(submit(c) for c in clients))
        meter.stop(phase)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    return phase


def _in_process(create: Callable[[], object], database: str) -> Phase:
    from django.db import connection

    phase, lock, until, meters = Phase(), threading.Lock(), [0.0], []

    def begin() -> None:  # once every thread has its connection (and backend) and warmed up
        meters.append(Meter(None, database))
        meters[0].start()
        until[0] = time.perf_counter() + DURATION_S

    ready = threading.Barrier(CLIENTS, action=begin)
    done = threading.Barrier(CLIENTS, action=lambda: meters[0].stop(phase))  # backends open
    failed: list[BaseException] = []

    def submit() -> None:
        try:
            create()  # this thread's connection
            ready.wait()
            mine = []
            while (t0 := time.perf_counter()) < until[0]:
                create()
                mine.append(time.perf_counter() - t0)
            with lock:
                phase.seconds += mine
            done.wait()
        except BaseException as exc:  # raised below, not lost in a thread
            failed.append(exc)
            ready.abort()
            done.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return phase


def _steps(api_key: str, create: Callable[[], Any]) -> dict[str, float]:
    """One thread's ms per call of each step the API server takes for a CreateJob besides
    gRPC itself: a new database connection (each of the API's threads makes one, then keeps
    it: dojocloud.api.offload), the API-key check (the interceptor's), the service
    function, and mapping the job to its answer (with its cost, read only for a job that
    was ever admitted: never for a new one)."""
    from django.db import connection

    from dojocloud.api import mappers
    from dojocloud.billing import facade as billing
    from dojocloud.tenancy.facade import authenticate_api_key

    jobs = [create() for _ in range(PROFILED_SUBMITS)]

    def reconnect() -> None:
        connection.close()
        connection.ensure_connection()

    timed = {
        "new_db_connection": lambda: [reconnect() for _ in jobs],
        "api_key_check": lambda: [authenticate_api_key(api_key) for _ in jobs],
        "create_job": lambda: [create() for _ in jobs],
        "answer_mapping": lambda: [
            mappers.job_to_proto(j, billing.job_costs([j.id]).get(j.id) if j.attempt else None)
            for j in jobs
        ],
    }
    out = {}
    for step, run in timed.items():
        t0 = time.perf_counter()
        run()
        out[step] = round(1000 * (time.perf_counter() - t0) / len(jobs), 3)
    return out


def _profile(create: Callable[[], object]) -> dict[str, Any]:
    """Own time per submit of the functions that take the most, and the queries a submit
    makes, over PROFILED_SUBMITS submits in one thread."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        create()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.runcall(lambda: [create() for _ in range(PROFILED_SUBMITS)])
    wall = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    top = {
        f"{Path(file).name}:{line}({func})": round(1000 * tottime / PROFILED_SUBMITS, 3)
        for (file, line, func), (_cc, _nc, tottime, _ct, _callers) in rows[:8]
    }
    return {
        "queries_per_submit": len(captured),
        "one_thread_ms_per_submit": round(1000 * wall / PROFILED_SUBMITS, 3),
        "own_ms_per_submit": top,
    }


def _tenant() -> tuple[Any, str]:
    from django.contrib.auth.models import User

    from dojocloud.tenancy.services import create_api_key, create_organization, principal_for_user

    owner = User.objects.create_user("bench-owner")
    create_organization("bench", "Bench", owner)
    principal = principal_for_user(owner, "bench")
    return principal, create_api_key(principal, name="bench")[1]


@contextmanager
def _redis_url() -> Iterator[str]:
    """REDIS_URL when set (the rate limits' and events' Redis), else an embedded one."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    from tests.support.embedded_redis import EmbeddedRedis

    with EmbeddedRedis() as server:
        yield server.url


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="dojo-bench-createjob-"))
    env = {"DOJO_CREATE_JOB_RATE": "0"}  # the limit would measure itself, not the platform
    with _redis_url() as redis_url, bench_database(base, "dojo_bench_createjob") as url:
        env["REDIS_URL"] = redis_url
        setup_django(url, base, **env)
        from django.db import connection

        from dojocloud.jobs import facade
        from tests.support.grpc_server import serving_address, start_serve_grpc

        principal, key = _tenant()
        proc = start_serve_grpc(base, 1, DATABASE_URL=url, **env)
        try:
            address = serving_address(proc)
            database = url.rsplit("/", 1)[-1]
            with CpuMeter() as machine:
                wire = asyncio.run(_over_the_wire(address, key, proc.pid, database))
        finally:
            proc.terminate()
            proc.wait(30)

        def create() -> object:
            return facade.create_job(principal, SPEC, request_id=str(uuid.uuid4()))

        local = _in_process(create, database)
        profile = _profile(create)
        steps = _steps(key, create)
        vendor = connection.vendor
    bench(
        "createjob_throughput",
        wire.per_s,
        "submits/s",
        baseline=local.per_s,
        clients=CLIENTS,
        duration_s=DURATION_S,
        submits=len(wire.seconds),
        p50_ms=round(wire.ms(0.5), 1),
        p99_ms=round(wire.ms(0.99), 1),
        baseline_p50_ms=round(local.ms(0.5), 1),
        baseline_p99_ms=round(local.ms(0.99), 1),
        cpu_ms_per_submit=wire.cpu_ms_per_submit(),
        baseline_cpu_ms_per_submit=local.cpu_ms_per_submit(),
        one_thread_ms=steps,
        profile=profile,
        database=vendor,
        target="1000/s, p99 <= 50 ms",
        load_average_1m=round(os.getloadavg()[0], 2),
        wire_machine_busy=round(machine.machine_busy, 3),
    )
