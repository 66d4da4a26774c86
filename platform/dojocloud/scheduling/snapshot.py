"""Mapper at the database → core edge: rows become the core's immutable Snapshot."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Job
from dojocloud.scheduling.models import Allocation, Device, DeviceKind, DeviceStatus
from scheduler.core import (
    Capacity,
    DeviceState,
    GpuNode,
    JobRequest,
    Placement,
    RunningJob,
    Snapshot,
    Tile,
)


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def load_capacity() -> Capacity:
    tiles: list[Tile] = []
    nodes: dict[tuple[str, str], list[Device]] = defaultdict(list)
    for d in Device.objects.filter(in_inventory=True).order_by("id"):
        if d.kind == DeviceKind.TILE:
            tiles.append(Tile(d.pool, d.exapod, d.cabinet, d.tray, d.row, d.col,
                              DeviceState(d.status)))
        else:
            nodes[(d.pool, d.node)].append(d)
    gpu_nodes = [_gpu_node(pool, name, gpus) for (pool, name), gpus in sorted(nodes.items())]
    return Capacity(tiles=tuple(tiles), gpu_nodes=tuple(gpu_nodes))


def _gpu_node(pool: str, name: str, gpus: list[Device]) -> GpuNode:
    statuses = {g.status for g in gpus}
    state = DeviceState.DRAINING if DeviceStatus.DRAINING in statuses else DeviceState.FREE
    if statuses == {DeviceStatus.FAILED}:
        state = DeviceState.FAILED
    failed = frozenset(g.index for g in gpus if g.status == DeviceStatus.FAILED)
    size = max([g.gpus_on_node for g in gpus] + [len(gpus)])
    return GpuNode(pool, name, size, state, failed)


def queued_requests() -> tuple[JobRequest, ...]:
    rows = (Job.objects.filter(state=lifecycle.QUEUED)
            .values("id", "organization__slug", "spec", "created_at", "priority",
                    "allocated_seconds"))
    out = []
    for row in rows:
        resources = row["spec"].get("resources", {})
        out.append(JobRequest(
            job_id=row["id"], tenant=row["organization__slug"],
            accelerators=tuple(resources.get("accelerators") or ("dojo-tile",)),
            count=int(resources.get("count") or 1), submit_time=row["created_at"].timestamp(),
            priority=row["priority"], attained_service_s=row["allocated_seconds"]))
    return tuple(out)


def running_jobs() -> tuple[RunningJob, ...]:
    devices: dict[str, list[str]] = defaultdict(list)
    for job_id, device_id in (Allocation.objects.filter(released_at__isnull=True)
                              .values_list("job_id", "device_id")):
        devices[job_id].append(device_id)
    rows = (Job.objects.filter(state__in=lifecycle.PLACED_STATES, id__in=list(devices))
            .values("id", "organization__slug", "pool", "accelerator", "priority",
                    "started_at", "dispatched_at", "last_checkpoint_at", "preempt_requested"))
    return tuple(
        RunningJob(job_id=r["id"], tenant=r["organization__slug"],
                   placement=Placement(r["pool"], r["accelerator"],
                                       tuple(sorted(devices[r["id"]]))),
                   start_time=_epoch(r["started_at"] or r["dispatched_at"]) or 0.0,
                   priority=r["priority"],
                   last_checkpoint_time=_epoch(r["last_checkpoint_at"]),
                   preemptible=not r["preempt_requested"])
        for r in rows)


def build_snapshot(now: float) -> Snapshot:
    return Snapshot(now=now, capacity=load_capacity(), queued=queued_requests(),
                    running=running_jobs())
