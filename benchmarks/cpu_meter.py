"""Where the CPU went while a benchmark phase ran: the CPU time of this process's job
processes (by their process name, among its descendants only: other stacks on a shared
machine run job processes too) and how busy the whole machine was.

A speedup below the core count with `machine_busy` near 1 and `cpu_share` well below it means
other processes took the cores; `job_cpu_s` growing from the sequential to the concurrent
phase means the jobs themselves slowed down running side by side (caches, memory). With
the kernel's autogroup scheduling the first is what a contended machine gives: the CPU is
shared between sessions, and all of a worker's job processes are in its session.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType

import psutil

JOB_PROCESS_NAME = "dojo-job"
SAMPLE_S = 0.2


def _machine_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [float(v) for v in fh.readline().split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class CpuMeter:
    def __init__(self) -> None:
        self._cpu: dict[int, float] = {}  # job pid -> its latest user + system seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.wall_s = self.job_cpu_s = self.machine_busy = 0.0

    def __enter__(self) -> CpuMeter:
        self._t0 = time.perf_counter()
        self._m0 = _machine_times()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_s = time.perf_counter() - self._t0
        busy, total = (a - b for a, b in zip(_machine_times(), self._m0, strict=True))
        self.machine_busy = busy / total if total > 0 else 0.0
        self.job_cpu_s = sum(self._cpu.values())

    def _sample(self) -> None:
        me = psutil.Process(os.getpid())
        while not self._stop.wait(SAMPLE_S):
            for proc in me.children(recursive=True):
                try:
                    if proc.name() == JOB_PROCESS_NAME:
                        t = proc.cpu_times()
                        self._cpu[proc.pid] = t.user + t.system
                except psutil.Error:
                    continue

    def fields(self, prefix: str) -> dict[str, float]:
        cores = len(os.sched_getaffinity(0))
        share = self.job_cpu_s / (self.wall_s * cores) if self.wall_s > 0 else 0.0
        return {
            f"{prefix}_job_cpu_s": round(self.job_cpu_s, 2),
            f"{prefix}_cpu_share": round(share, 3),
            f"{prefix}_machine_busy": round(self.machine_busy, 3),
        }
