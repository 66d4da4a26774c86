"""Mapper at the database → core edge: rows become the core's immutable Snapshot."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db.models import F, Max, Sum, TextField
from django.db.models.functions import Cast

from dojocloud.billing.facade import UsageRecord, accelerator_prices
from dojocloud.jobs.facade import Checkpoint, Job, lifecycle
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
from scheduler.inventory import hardware_figures


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def load_capacity() -> Capacity:
    tiles: list[Tile] = []
    nodes: dict[tuple[str, str], list[Device]] = defaultdict(list)
    for d in Device.objects.filter(in_inventory=True).order_by("id"):
        if d.kind == DeviceKind.TILE:
            tiles.append(
                Tile(d.pool, d.exapod, d.cabinet, d.tray, d.row, d.col, DeviceState(d.status))
            )
        else:
            nodes[(d.pool, d.node)].append(d)
    gpu_nodes = [_gpu_node(pool, name, gpus) for (pool, name), gpus in sorted(nodes.items())]
    # Options are sized and priced with the price book's rates (billing), as the estimate is.
    figures = hardware_figures(accelerator_prices())
    return Capacity(tiles=tuple(tiles), gpu_nodes=tuple(gpu_nodes), figures=figures)


def _gpu_node(pool: str, name: str, gpus: list[Device]) -> GpuNode:
    statuses = {g.status for g in gpus}
    state = DeviceState.DRAINING if DeviceStatus.DRAINING in statuses else DeviceState.FREE
    if statuses == {DeviceStatus.FAILED}:
        state = DeviceState.FAILED
    failed = frozenset(g.index for g in gpus if g.status == DeviceStatus.FAILED)
    size = max([g.gpus_on_node for g in gpus] + [len(gpus)])
    return GpuNode(pool, name, size, state, failed, rack=gpus[0].rack)


def _measured_durations(jobs: list[dict[str, Any]]) -> dict[str, float]:
    """Whole-run estimates for requeued jobs, from the pace the ledger measured on the first
    accelerator type and count they ask for. The runtime's modelled estimate is in modelled
    device time, not the wall time the live clock and running jobs' pace are in, so fresh
    jobs stay unknown. Running jobs' ends use the same pace: a victim's remaining time does
    not change when it is requeued (scheduler.core.remaining's no-swap-back argument)."""
    first = {j["id"]: j for j in jobs}
    steps: dict[str, int] = defaultdict(int)
    wall: dict[str, float] = defaultdict(float)
    for job_id, accelerator, count, done, seconds in (
        UsageRecord.objects.filter(job_id__in=list(first))
        .values("job_id", "accelerator", "device_count")
        .annotate(done=Sum(F("end_step") - F("start_step")), seconds=Sum("wall_seconds"))
        .values_list("job_id", "accelerator", "device_count", "done", "seconds")
    ):
        j = first[job_id]
        if (accelerator, count) == (j["accelerators"][0], j["count"]):
            steps[job_id] += done or 0
            wall[job_id] += seconds or 0.0
    return {
        job_id: first[job_id]["total_steps"] * wall[job_id] / steps[job_id]
        for job_id in steps
        if steps[job_id] > 0 and wall[job_id] > 0
    }


# A queued job's columns that never change after submission (the spec's typed columns,
# dojocloud.jobs.stored_spec, and its tenant), read once per job: with 10,000 queued jobs,
# building a dict per row and decoding its JSON every pass cost most of the snapshot.
_FIXED = ("organization__slug", "device_count", "created_at", "total_steps", "cheapest_first")
_FIXED_JSON = ("accepted_accelerators", "modelled_steps")
_LEARN_BY_ID = 500
# The columns a queued job's request can change by while it waits (requeue, priority).
_MOVING = ("id", "priority", "allocated_seconds", "attempt", "preemptible", "current_step")


class Reuse:
    """Across passes: each queued job's fixed columns, and the JobRequests of the last
    snapshot by job id with the values each was built from: a job whose values did not
    change gets the same object again, which the live loop's kept queue
    (scheduler.core.incremental.Following) recognises at a glance."""

    def __init__(self) -> None:
        self._requests: dict[str, tuple[tuple[Any, ...], JobRequest]] = {}
        self.fixed: dict[str, dict[str, Any]] = {}

    def request(self, values: tuple[Any, ...], build: Callable[[], JobRequest]) -> JobRequest:
        hit = self._requests.get(values[0])
        if hit is not None and hit[0] == values:
            return hit[1]
        request = build()
        self._requests[values[0]] = (values, request)
        return request

    def learn(self, job_ids: list[str]) -> None:
        """Reads the fixed columns of the jobs not seen yet in one query (none when no job is
        new): by id for a few, else every queued job's (a 10,000-id IN list is slower)."""
        if not job_ids:
            return
        jobs = Job.objects.filter(
            **({"id__in": job_ids} if len(job_ids) <= _LEARN_BY_ID else {"state": lifecycle.QUEUED})
        )
        # The JSON columns as text, each distinct text decoded once: jobs share a few.
        texts = {f"{c}_text": Cast(c, TextField()) for c in _FIXED_JSON}
        decoded: dict[str, Any] = {}
        for row in jobs.values("id", *_FIXED, **texts).order_by():
            for column in _FIXED_JSON:
                text = row.pop(f"{column}_text")
                if text not in decoded:
                    decoded[text] = json.loads(text)
                row[column] = decoded[text]
            row["accelerators"] = tuple(row["accepted_accelerators"])
            row["count"] = row["device_count"]
            row["fresh"] = _option_estimates({**row, "current_step": 0}, 1.0)
            self.fixed[row["id"]] = row

    def keep_only(self, job_ids: set[str]) -> None:
        if len(self._requests) > len(job_ids):
            self._requests = {k: v for k, v in self._requests.items() if k in job_ids}
        if len(self.fixed) > len(job_ids):
            self.fixed = {k: v for k, v in self.fixed.items() if k in job_ids}


def queued_requests(reuse: Reuse | None = None) -> tuple[JobRequest, ...]:
    reuse = reuse or Reuse()
    # Newest first (Job's default ordering), as the snapshot always listed them.
    moving = list(Job.objects.filter(state=lifecycle.QUEUED).values_list(*_MOVING))
    reuse.learn([m[0] for m in moving if m[0] not in reuse.fixed])
    fixed = reuse.fixed
    moving = [m for m in moving if m[0] in fixed]  # not one that left the queue in between
    requeued = [{**fixed[m[0]], **dict(zip(_MOVING, m, strict=True))} for m in moving if m[3]]
    est = _measured_durations(requeued)
    paces = _paces([j for j in requeued if j["modelled_steps"]])
    out = []
    for job_id, priority, allocated, _, preemptible, step in moving:
        f = fixed[job_id]
        values = (
            job_id,
            f["organization__slug"],
            f["accelerators"],
            f["count"],
            f["created_at"],
            priority,
            est.get(job_id),
            allocated,
            preemptible,
            f["cheapest_first"],
            f["fresh"]
            if not step and job_id not in paces
            else _option_estimates({**f, "current_step": step}, paces.get(job_id, 1.0)),
        )
        out.append(reuse.request(values, partial(_queued_request, values)))
    reuse.keep_only({m[0] for m in moving})
    return tuple(out)


def _queued_request(v: tuple[Any, ...]) -> JobRequest:
    return JobRequest(
        job_id=v[0],
        tenant=v[1],
        accelerators=v[2],
        count=v[3],
        submit_time=v[4].timestamp(),
        priority=v[5],
        est_duration_s=v[6],
        # Queued: all of its service is before its next run (Job mirrors
        # the ledger).
        attained_service_s=v[7],
        spot=v[8],  # the spec's preemptible flag
        cheapest_first=v[9],
        est_durations=dict(v[10][0]),
        counts=dict(v[10][1]),
    )


Estimates = tuple[tuple[tuple[str, float], ...], tuple[tuple[str, int], ...]]


def _option_estimates(job: Mapping[str, Any], pace: float) -> Estimates:
    """(est_durations, counts) of a job accepting several types: the runtime's modelled
    time for its remaining steps on each, times its pace (hashable: part of Reuse's key)."""
    modelled: Mapping[str, list[float]] = job["modelled_steps"] or {}
    left = max(job["total_steps"] - job["current_step"], 0)
    return (
        tuple((a, step * left * pace) for a, (_, step) in sorted(modelled.items())),
        tuple((a, int(count)) for a, (count, _) in sorted(modelled.items())),
    )


def _paces(jobs: list[dict[str, Any]]) -> dict[str, float]:
    """Measured wall seconds per step over the modelled ones, on the accelerator type a job
    ran most steps on (the ledger's segments): the correction its estimates take once a
    segment has finished. Modelled time is the real device's; the measured pace is what
    this platform delivers, so one factor per job scales every option alike."""
    by_id = {j["id"]: j["modelled_steps"] for j in jobs}
    best: dict[str, tuple[int, float]] = {}
    for job_id, accelerator, done, seconds in (
        UsageRecord.objects.filter(job_id__in=list(by_id))
        .values("job_id", "accelerator")
        .annotate(done=Sum(F("end_step") - F("start_step")), seconds=Sum("wall_seconds"))
        .values_list("job_id", "accelerator", "done", "seconds")
    ):
        modelled = by_id[job_id].get(accelerator)
        if modelled and modelled[1] > 0 and done and seconds and done > best.get(job_id, (0,))[0]:
            best[job_id] = (done, seconds / done / modelled[1])
    return {job_id: pace for job_id, (_, pace) in best.items()}


def _latest_checkpoints(job_ids: list[str]) -> dict[str, tuple[datetime, int]]:
    """job id -> (time, step) of its latest checkpoint (steps only grow, so both maxima)."""
    return {
        job_id: (latest, step)
        for job_id, latest, step in (
            Checkpoint.objects.filter(job_id__in=job_ids)
            .values("job_id")
            .annotate(latest=Max("created_at"), step=Max("step"))
            .values_list("job_id", "latest", "step")
        )
    }


def _earlier_service(job_ids: list[str]) -> dict[str, float]:
    """Billed device-seconds (the ledger's allocated_seconds) of attempts before the current
    one. The current attempt's segments are left out: the core counts the current run from
    RunningJob.start_time itself."""
    return dict(
        UsageRecord.objects.filter(job_id__in=job_ids, attempt__lt=F("job__attempt"))
        .values("job_id")
        .annotate(total=Sum("allocated_seconds"))
        .values_list("job_id", "total")
    )


def _preempted_for(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Victims checkpointing for a waiting job: the preemptor of their current attempt."""
    asked = {r["id"]: r["attempt"] for r in rows if r["preempt_requested"]}
    out: dict[str, str] = {}
    for job_id, attempt, for_job in (
        Preemption.objects.filter(job_id__in=list(asked))
        .exclude(for_job_id="")
        .order_by("created_at", "id")
        .values_list("job_id", "attempt", "for_job_id")
    ):
        if asked[job_id] == attempt:
            out[job_id] = for_job
    return out


def _displaced(job_ids: list[str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for for_job, victim in Preemption.objects.filter(for_job_id__in=job_ids).values_list(
        "for_job_id", "job_id"
    ):
        out[for_job].add(victim)
    return {k: frozenset(v) for k, v in out.items()}


def _est_end(
    row: Mapping[str, Any], checkpoint: tuple[datetime, int] | None, start: datetime
) -> float | None:
    """From the job's own pace (wall seconds per step over its finished segments, which end
    at its latest checkpoint): the steps left after that checkpoint, counted from when it
    was saved or, if later, from when this run started. Unknown before a segment finished.
    It only changes when a segment ends, not with the clock, so the scheduler's kept state
    sees an unchanged running job as unchanged."""
    if checkpoint is None:
        return None
    saved_at, done = checkpoint
    total, wall = row["total_steps"], row["wall_seconds"]
    if done <= 0 or wall <= 0 or total <= done:
        return None
    return max(saved_at, start).timestamp() + (total - done) * wall / done


def _saved_at(checkpoint: tuple[datetime, int] | None) -> datetime | None:
    return None if checkpoint is None else checkpoint[0]


def _since(checkpoint: datetime | None, start: datetime) -> float | None:
    """A checkpoint from before this run is the one it resumed from: work lost counts from the
    run's start (the core's fallback for None)."""
    return _epoch(checkpoint) if checkpoint is not None and checkpoint >= start else None


def running_jobs() -> tuple[RunningJob, ...]:
    devices: dict[str, list[str]] = defaultdict(list)
    # The current run starts when its attempt's devices were held: Job.started_at is the
    # first attempt's start and dispatched_at moves with every segment.
    starts: dict[str, datetime] = {}
    for job_id, device_id, held in Allocation.objects.filter(released_at__isnull=True).values_list(
        "job_id", "device_id", "created_at"
    ):
        devices[job_id].append(device_id)
        starts[job_id] = min(held, starts.get(job_id, held))
    rows = list(
        Job.objects.filter(state__in=lifecycle.PLACED_STATES, id__in=list(devices)).values(
            "id",
            "organization__slug",
            "pool",
            "accelerator",
            "priority",
            "last_checkpoint_at",
            "preempt_requested",
            "attempt",
            "current_step",
            "total_steps",
            "wall_seconds",
            "created_at",
            "preemptible",
        )
    )
    ids = [r["id"] for r in rows]
    checkpoints, for_job, displaced, earlier = (
        _latest_checkpoints(ids),
        _preempted_for(rows),
        _displaced(ids),
        _earlier_service(ids),
    )
    return tuple(
        RunningJob(
            job_id=r["id"],
            tenant=r["organization__slug"],
            placement=Placement(r["pool"], r["accelerator"], tuple(sorted(devices[r["id"]]))),
            start_time=starts[r["id"]].timestamp(),
            priority=r["priority"],
            last_checkpoint_time=_since(
                _saved_at(checkpoints.get(r["id"])) or r["last_checkpoint_at"], starts[r["id"]]
            ),
            est_end_time=_est_end(r, checkpoints.get(r["id"]), starts[r["id"]]),
            preemptible=not r["preempt_requested"],
            attained_service_s=earlier.get(r["id"], 0.0),
            preempted_for=for_job.get(r["id"]),
            displaced=displaced.get(r["id"], frozenset()),
            submit_time=r["created_at"].timestamp(),
            spot=r["preemptible"],
        )
        for r in rows
    )


def build_snapshot(now: float, reuse: Reuse | None = None) -> Snapshot:
    # checkpoint_interval_s stays None: cadence is per job in steps (spec
    # training.checkpoint_interval), and every checkpoint is a Checkpoint row, so the
    # reported last_checkpoint_time is exact; an assumed period would invent checkpoints.
    return Snapshot(
        now=now,
        capacity=load_capacity(),
        queued=queued_requests(reuse),
        running=running_jobs(),
        tenants=quotas.load_tenants(),
        usage_half_life_s=quotas.half_life_s(),
        grace_period_s=float(settings.PREEMPT_GRACE_S),
        min_run_s=float(settings.MIN_RUN_S),
        checkpoint_interval_s=None,
    )
