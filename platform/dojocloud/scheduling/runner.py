"""Starts the scheduling loop in a thread of the gRPC server process.

stop = threading.Event()
thread = start_scheduler(stop)      # every replica runs it; only the leader schedules
...
stop.set(); thread.join()
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from dojocloud.common import metrics
from dojocloud.scheduling.leader import leader_for_database
from dojocloud.scheduling.store import DatabaseStore
from dojocloud.scheduling.wake import RedisWakeSignal
from scheduler.core import Decisions, Snapshot, pool_for_accelerator
from scheduler.core.incremental import Following
from scheduler.loop import PassResult, SchedulingLoop

log = logging.getLogger(__name__)


def default_policy() -> Callable[[Snapshot], Decisions]:
    """The core's default policy, keeping its queue index between passes (decides exactly
    what `scheduler.core.schedule(snapshot)` would; see scheduler.core.incremental)."""
    return Following("default")


def record_pass_metrics(result: PassResult, snapshot: Snapshot | None) -> None:
    metrics.SCHED_PASS_SECONDS.observe(result.seconds)
    if snapshot is None:
        return
    depth = Counter(pool_for_accelerator(j.accelerators[0]) for j in snapshot.queued)
    busy = {d for r in snapshot.running for d in r.placement.devices}
    allocated: Counter[str] = Counter()
    usable: Counter[str] = Counter()
    for t in snapshot.capacity.tiles:
        allocated[t.pool] += t.id in busy
        usable[t.pool] += t.state.value == "free"
    for n in snapshot.capacity.gpu_nodes:
        for i in range(n.gpus):
            allocated[n.pool] += n.gpu_id(i) in busy
            usable[n.pool] += n.state.value == "free" and i not in n.failed_gpus
    for pool in set(usable) | set(depth):
        metrics.QUEUE_DEPTH.labels(pool=pool).set(depth[pool])
        metrics.CAPACITY_ALLOCATED.labels(pool=pool).set(allocated[pool])
        metrics.CAPACITY_FREE.labels(pool=pool).set(max(usable[pool] - allocated[pool], 0))


def build_loop() -> SchedulingLoop:
    interval = float(settings.SCHED_INTERVAL_S)
    return SchedulingLoop(
        DatabaseStore(),
        default_policy(),
        leader=leader_for_database(max(3 * interval, 15.0)),
        wake=RedisWakeSignal(),
        clock=time.time,
        interval_s=interval,
        on_pass=record_pass_metrics,
    )


def _run(stop: threading.Event) -> None:
    try:
        build_loop().run(stop)
    finally:
        connection.close()  # this thread's connection (and any advisory lock with it)


def freeze_startup_heap() -> None:
    """Moves every object alive now (the modules, Django, the server's setup) out of the
    garbage collector's reach, after collecting what is already garbage. A full collection
    walks every tracked object: with this process's ~400,000 of them, the one that fell
    inside a pass every few passes took ~0.5 s of a 10,000-job pass; now it walks only
    what was made since. Objects frozen stay freed by reference counting."""
    gc.collect()
    gc.freeze()


def start_scheduler(stop: threading.Event) -> threading.Thread:
    freeze_startup_heap()
    thread = threading.Thread(target=_run, args=(stop,), name="dojo-scheduler", daemon=True)
    thread.start()
    log.info("scheduling loop started (interval %.1fs)", float(settings.SCHED_INTERVAL_S))
    return thread
