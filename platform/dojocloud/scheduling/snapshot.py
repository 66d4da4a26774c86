"""Mapper at the database → core edge: rows become the core's immutable Snapshot."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Max

from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Checkpoint, Job
from dojocloud.scheduling import quotas
from dojocloud.scheduling.models import (
    Allocation,
    Device,
    DeviceKind,
    DeviceStatus,
    Preemption,
)
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


def _latest_checkpoints(job_ids: list[str]) -> dict[str, datetime]:
    return dict(Checkpoint.objects.filter(job_id__in=job_ids).values("job_id")
                .annotate(latest=Max("created_at")).values_list("job_id", "latest"))


def _preempted_for(rows: list[dict[str, object]]) -> dict[str, str]:
    """Victims checkpointing for a waiting job: the preemptor of their current attempt."""
    asked = {r["id"]: r["attempt"] for r in rows if r["preempt_requested"]}
    out: dict[str, str] = {}
    for job_id, attempt, for_job in (Preemption.objects.filter(job_id__in=list(asked))
                                     .exclude(for_job_id="").order_by("created_at", "id")
                                     .values_list("job_id", "attempt", "for_job_id")):
        if asked[job_id] == attempt:
            out[job_id] = for_job
    return out


def _displaced(job_ids: list[str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for for_job, victim in (Preemption.objects.filter(for_job_id__in=job_ids)
                            .values_list("for_job_id", "job_id")):
        out[for_job].add(victim)
    return {k: frozenset(v) for k, v in out.items()}


def _est_end(row: dict[str, Any], now: float) -> float | None:
    """From the job's own pace so far (wall seconds per step); unknown before a step ran."""
    done, total, wall = row["current_step"], row["total_steps"], row["wall_seconds"]
    if done <= 0 or wall <= 0 or total <= done:
        return None
    return now + (total - done) * wall / done


def running_jobs(now: float = 0.0) -> tuple[RunningJob, ...]:
    devices: dict[str, list[str]] = defaultdict(list)
    for job_id, device_id in (Allocation.objects.filter(released_at__isnull=True)
                              .values_list("job_id", "device_id")):
        devices[job_id].append(device_id)
    rows = list(Job.objects.filter(state__in=lifecycle.PLACED_STATES, id__in=list(devices))
                .values("id", "organization__slug", "pool", "accelerator", "priority",
                        "started_at", "dispatched_at", "last_checkpoint_at",
                        "preempt_requested", "attempt", "current_step", "total_steps",
                        "wall_seconds"))
    ids = [r["id"] for r in rows]
    checkpoints, for_job, displaced = (_latest_checkpoints(ids), _preempted_for(rows),
                                       _displaced(ids))
    return tuple(
        RunningJob(job_id=r["id"], tenant=r["organization__slug"],
                   placement=Placement(r["pool"], r["accelerator"],
                                       tuple(sorted(devices[r["id"]]))),
                   start_time=_epoch(r["started_at"] or r["dispatched_at"]) or 0.0,
                   priority=r["priority"],
                   last_checkpoint_time=_epoch(checkpoints.get(r["id"])
                                               or r["last_checkpoint_at"]),
                   est_end_time=_est_end(r, now),
                   preemptible=not r["preempt_requested"],
                   preempted_for=for_job.get(r["id"]),
                   displaced=displaced.get(r["id"], frozenset()))
        for r in rows)


def build_snapshot(now: float) -> Snapshot:
    return Snapshot(now=now, capacity=load_capacity(), queued=queued_requests(),
                    running=running_jobs(now), tenants=quotas.load_tenants(),
                    usage_half_life_s=quotas.half_life_s())
