"""watch_streams: N concurrent WatchJob streams (1,000 by default) on one API process for a
while (60 s by default; the issue's acceptance asks 300) while jobs run, on the processes
of `make up` (web, api, workers, beat; embedded Redis; free ports; PostgreSQL when
DATABASE_URL names a PostgreSQL server, a fresh database dropped after, else SQLite).

JOBS slots each run one job after another (digits-mlp, small); the streams are spread over
the slots, and a stream whose job finished watches the slot's next job from its start. The
streams are read by a process of their own (one grpc.aio channel): in the bench's process,
their client would hold the GIL that the unary prober's threads wait for, and the prober
would time the bench rather than the server.
Reported, one BENCH line:

value       unary p99 (ms) of GetJob from 4 client threads once every stream is open (each
            has had its first event; all_open_after_s says when), to the end;
baseline    the same calls' p99 on the same stack before any stream was opened (same run);
ratio       value / baseline (1.0: the streams cost unary calls nothing);
refused     streams that did not open (any error before their first event) — must be 0;
dropped     streams that ended with an error after opening — must be 0;
missing_events  events of a finished job that a stream watching it from its start lacked
            (each compared with a fresh read of the job's events after it ended) — must be 0;
rss_growth_pct  the API process's RSS at the end over its RSS once every stream was open;
api_cpu_pct_*   the API process's CPU (percent of one core) during each unary phase, and
*_machine_busy  how busy the whole machine was then (benchmarks.cpu_meter): on a shared
            machine the ratio moves with what else runs, the API's CPU much less.

DOJO_BENCH_WATCH_STREAMS and DOJO_BENCH_WATCH_S change N and the duration. With
DOJO_BENCH_WATCH_PROFILE naming a folder, the API process is sampled with py-spy (when it is
on PATH: `pip install py-spy`; not a dependency of the project) during both unary phases,
threads apart (`--threads --function`), into `baseline.txt` and `streams.txt` there (py-spy's
raw collapsed stacks: one line a stack, its sample count last), and the BENCH line gives the
share of the API process's samples by thread and by the functions that take the most.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psutil

from benchmarks.cpu_meter import CpuMeter
from benchmarks.databases import bench_database
from benchmarks.report import bench
from devstack import REPO, Ports, Stack, env_file_value
from dojo import specfile
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2, job_pb2_grpc

EXAMPLE = REPO / "examples" / "digits-mlp.yaml"
JOBS = 4  # slots running at once (the dev inventory's tray has 6 tiles)
UNARY_THREADS = 4
BASELINE_S = 15.0
FINAL = {job_pb2.SUCCEEDED, job_pb2.FAILED, job_pb2.CANCELLED}


def _spec(i: int) -> job_pb2.JobSpec:
    spec = specfile.load(str(EXAMPLE))
    spec.name = f"watched-{i}"
    spec.training.steps = 200
    spec.training.checkpoint_interval = 50
    return spec


@dataclass
class Tally:
    """What the streams saw; touched only on the watchers' event loop (in their process)."""

    opened: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    events: int = 0
    complete: list[tuple[str, list[int]]] = field(default_factory=list)  # (job, ids)


class SharedNames:
    """Each slot's current job name, in shared memory: the watchers' process reads what the
    bench's process writes, without a round trip."""

    WIDTH = 128

    def __init__(self, slots: int) -> None:
        self.array = multiprocessing.get_context("spawn").Array(ctypes.c_char, slots * self.WIDTH)

    def __getitem__(self, slot: int) -> str:
        start = slot * self.WIDTH
        return bytes(self.array[start : start + self.WIDTH]).rstrip(b"\0").decode()

    def __setitem__(self, slot: int, name: str) -> None:
        start = slot * self.WIDTH
        self.array[start : start + self.WIDTH] = name.encode().ljust(self.WIDTH, b"\0")


class Slots:
    """JOBS slots, each running one job after another; `current[i]` is slot i's job (and
    `shared[i]` the same, for the watchers' process)."""

    def __init__(self, client: Client) -> None:
        self.client, self.count = client, 0
        self.current = [self._submit() for _ in range(JOBS)]
        self.shared = SharedNames(JOBS)
        for i, name in enumerate(self.current):
            self.shared[i] = name
        self.finished: list[str] = []
        self.stop = threading.Event()

    def _submit(self) -> str:
        self.count += 1
        return self.client.create_job(_spec(self.count)).name

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for i, name in enumerate(self.current):
                if self.client.get_job(name).state in FINAL:
                    self.finished.append(name)
                    self.current[i] = self.shared[i] = self._submit()


async def _watcher(
    stub: Any, md: Any, names: SharedNames, slot: int, tally: Tally, opened: Any, end: float
) -> None:
    """Watches slot `slot`'s jobs from their start until `end`; a stream that completes
    moves on to the slot's next job."""
    name, first_open = names[slot], True
    while time.monotonic() < end:
        call = stub.WatchJob(job_pb2.WatchJobRequest(name=name), metadata=md)
        ids: list[int] = []
        try:
            async with asyncio.timeout(max(0.1, end - time.monotonic())):
                async for event in call:
                    if not ids and first_open:
                        tally.opened += 1
                        with opened.get_lock():
                            opened.value += 1
                    ids.append(event.id)
                    tally.events += 1
        except TimeoutError:
            call.cancel()
            return
        except grpc.aio.AioRpcError as err:
            book = tally.dropped if ids else tally.refused
            book[err.code().name] = book.get(err.code().name, 0) + 1
            return
        first_open = False
        tally.complete.append((name, ids))
        while names[slot] == name and time.monotonic() < end:
            await asyncio.sleep(0.2)  # the slot's next job
        name = names[slot]


def _watch_all(
    address: str,
    key: str,
    names: SharedNames,
    streams: int,
    seconds: float,
    opened: Any,
    out: Any,
) -> None:
    """The watchers' process: its own interpreter, so the streams' client does not hold
    the GIL the unary prober's threads need (the prober measures the server, not this)."""
    tally = Tally()

    async def main() -> None:
        md = (("authorization", f"Bearer {key}"),)
        async with grpc.aio.insecure_channel(address) as channel:
            stub = job_pb2_grpc.JobServiceStub(channel)
            end = time.monotonic() + seconds
            await asyncio.gather(
                *(_watcher(stub, md, names, i % JOBS, tally, opened, end) for i in range(streams))
            )

    asyncio.run(main())
    out.put(tally)


def _unary(client: Client, name: str, seconds: float) -> tuple[float, float, int]:
    """p99 and p50 (ms) and count of GetJob calls from UNARY_THREADS threads over
    `seconds`."""
    samples: list[float] = []
    end = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            client.get_job(name)
            samples.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)

    threads = [threading.Thread(target=loop) for _ in range(UNARY_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _p99(samples), statistics.median(samples), len(samples)


@contextmanager
def _sampled(pid: int, folder: Path | None, phase: str) -> Iterator[None]:
    """py-spy samples process `pid` (its threads apart) into `folder/phase.txt` while the
    block runs; nothing without a folder or py-spy."""
    spy = shutil.which("py-spy")
    if folder is None or spy is None:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    argv = [spy, "record", "--pid", str(pid), "--threads", "--function", "--nonblocking"]
    argv += ["--format", "raw", "--rate", "50", "-o", str(folder / f"{phase}.txt")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        proc.wait(30)


_THREAD = re.compile(r"^thread \(\d+\): ([^;]*?)(?:_\d+)?;")


def _profile_summary(path: Path, top: int = 12) -> dict[str, Any]:
    """Share of the samples by thread (name without its number) and the functions with
    the most samples of their own (the last frame of each stack)."""
    if not path.exists():
        return {}
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        match = _THREAD.match(stack)
        threads[match.group(1) if match else "?"] += n
        own[stack.rsplit(";", 1)[-1]] += n
    if not total:
        return {}
    return {
        "samples": total,
        "by_thread_pct": {k: round(100 * v / total, 1) for k, v in threads.most_common()},
        "own_pct": {k: round(100 * v / total, 1) for k, v in own.most_common(top)},
    }


@contextmanager
def _api_cpu(pid: int, into: dict[str, float], phase: str) -> Iterator[None]:
    """The API process's CPU over the block, in percent of one core (what the streams cost
    it, whatever else runs on the machine)."""
    proc = psutil.Process(pid)
    t0, c0 = time.perf_counter(), sum(proc.cpu_times()[:2])
    try:
        yield
    finally:
        wall = time.perf_counter() - t0
        into[phase] = round(100 * (sum(proc.cpu_times()[:2]) - c0) / wall, 1) if wall else 0.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _missing(client: Client, complete: list[tuple[str, list[int]]]) -> int:
    """Events a completed stream lacked, against the job's events read afresh."""
    truth: dict[str, list[int]] = {}
    missing = 0
    for name, ids in complete:
        if name not in truth:
            truth[name] = [e.id for e in client.watch_job(name)]
        missing += len(set(truth[name]) - set(ids))
    return missing


def _measure(stack: Stack, client: Client, key: str, streams: int, seconds: float) -> None:
    address = f"127.0.0.1:{stack.ports.grpc}"
    api_pid = stack.procs["api"].pid
    profile = os.environ.get("DOJO_BENCH_WATCH_PROFILE")
    folder = Path(profile) if profile else None
    slots = Slots(client)
    probe = slots.current[0]
    api_cpu: dict[str, float] = {}
    with (
        _sampled(api_pid, folder, "baseline"),
        CpuMeter() as base_cpu,
        _api_cpu(api_pid, api_cpu, "baseline"),
    ):
        base_p99, base_p50, base_n = _unary(client, probe, BASELINE_S)
    rss_before = _rss_mb(api_pid)
    runner = threading.Thread(target=slots.run, daemon=True)
    runner.start()
    spawn = multiprocessing.get_context("spawn")
    opened, out = spawn.Value("i", 0), spawn.Queue()
    watching = spawn.Process(
        target=_watch_all, args=(address, key, slots.shared, streams, seconds, opened, out)
    )
    started = time.monotonic()
    watching.start()
    while opened.value < streams and time.monotonic() - started < seconds / 2:
        time.sleep(0.2)  # every stream open (each has had its first event)
    open_s = time.monotonic() - started
    time.sleep(2.0)
    rss_open = _rss_mb(api_pid)
    with (
        _sampled(api_pid, folder, "streams"),
        CpuMeter() as streams_cpu,
        _api_cpu(api_pid, api_cpu, "streams"),
    ):
        p99, p50, n = _unary(client, probe, max(1.0, seconds - (time.monotonic() - started) - 3.0))
    tally: Tally = out.get(timeout=120)
    watching.join(30)
    rss_end = _rss_mb(api_pid)
    slots.stop.set()
    runner.join(10)
    bench(
        "watch_streams",
        p99,
        "ms",
        baseline=base_p99,
        streams=streams,
        duration_s=seconds,
        opened=tally.opened,
        all_open_after_s=round(open_s, 1),
        refused=sum(tally.refused.values()),
        refused_codes=tally.refused,
        dropped=sum(tally.dropped.values()),
        dropped_codes=tally.dropped,
        events_delivered=tally.events,
        streams_completed=len(tally.complete),
        jobs_finished=len(slots.finished),
        missing_events=_missing(client, tally.complete),
        unary_p50_ms=round(p50, 2),
        baseline_unary_p50_ms=round(base_p50, 2),
        unary_calls=n,
        baseline_unary_calls=base_n,
        api_rss_before_streams_mb=round(rss_before, 1),
        api_rss_streams_open_mb=round(rss_open, 1),
        api_rss_end_mb=round(rss_end, 1),
        rss_growth_pct=round(100 * (rss_end / rss_open - 1), 2) if rss_open else None,
        database=stack.env["DATABASE_URL"].split(":", 1)[0],
        load_average_1m=round(os.getloadavg()[0], 2),
        api_cpu_pct_baseline=api_cpu.get("baseline"),
        api_cpu_pct_streams=api_cpu.get("streams"),
        **base_cpu.fields("baseline"),
        **streams_cpu.fields("streams"),
        **(
            {
                "api_profile_baseline": _profile_summary(folder / "baseline.txt"),
                "api_profile_streams": _profile_summary(folder / "streams.txt"),
            }
            if folder is not None
            else {}
        ),
    )


def main() -> None:
    streams = int(os.environ.get("DOJO_BENCH_WATCH_STREAMS", "1000"))
    seconds = float(os.environ.get("DOJO_BENCH_WATCH_S", "60"))
    base = Path(tempfile.mkdtemp(prefix="dojo-bench-watch-"))
    with bench_database(base, "dojo_bench_watch") as url:
        env = {
            "DATABASE_URL": url,
            "DOJO_DATA_DIR": str(base),
            "DOJO_DEMO_ENV_FILE": str(base / "demo.env"),
            "DOJO_SCHED_INTERVAL_S": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(base / "prom"),
        }
        os.environ.pop("REDIS_URL", None)
        stack = Stack(
            env=env,
            ports=Ports.ephemeral(),
            state_dir=base,
            log_dir=base / "logs",
            quiet_seed=True,
            prometheus=False,
        )
        stack.start()
        try:
            key = env_file_value(base / "demo.env", "DOJO_API_KEY") or ""
            config = ClientConfig(server=f"127.0.0.1:{stack.ports.grpc}", api_key=key, timeout=60)
            with Client(config) as client:
                _measure(stack, client, key, streams, seconds)
        finally:
            stack.stop()


def _p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
