"""Entry point of the core. First-fit in submit order: a stand-in until the full policy."""

from __future__ import annotations

from scheduler.core.model import (
    Admit,
    Decisions,
    DeviceState,
    Pending,
    Placement,
    Snapshot,
    pool_for_accelerator,
)


def schedule(snapshot: Snapshot, policy: str = "default") -> Decisions:
    busy = {d for r in snapshot.running for d in r.placement.devices}
    free_tiles: dict[str, list[str]] = {}
    for t in snapshot.capacity.tiles:
        if t.state is DeviceState.FREE and t.id not in busy:
            free_tiles.setdefault(t.pool, []).append(t.id)
    free_gpus: dict[str, list[str]] = {}
    for n in snapshot.capacity.gpu_nodes:
        if n.state is not DeviceState.FREE:
            continue
        for i in range(n.gpus):
            gid = n.gpu_id(i)
            if i not in n.failed_gpus and gid not in busy:
                free_gpus.setdefault(n.pool, []).append(gid)

    admits: list[Admit] = []
    pending: list[Pending] = []
    for job in sorted(snapshot.queued, key=lambda j: (-j.priority, j.submit_time, j.job_id)):
        accel = job.accelerators[0]
        pool = pool_for_accelerator(accel)
        free = (free_tiles if accel == "dojo-tile" else free_gpus).get(pool, [])
        if len(free) >= job.count:
            devices = tuple(free[: job.count])
            del free[: job.count]
            admits.append(Admit(job.job_id, Placement(pool, accel, devices), "first fit"))
        else:
            pending.append(
                Pending(job.job_id, f"waiting for {job.count} free {accel}", len(pending) + 1)
            )
    return Decisions(admits=tuple(admits), pending=tuple(pending))
