"""Operator actions as pure functions: they return a new Snapshot (device states changed in
its Capacity) and, where running work must move, the preemptions that say so.

Targets are device ids or prefixes: a tile "dojo/e0/c0/t0/r0c1", a tray "dojo/e0/c0/t0",
a cabinet "dojo/e0/c3", a GPU node "gpu-a100/n4". Draining stops new work; with
`evict=True` running jobs there checkpoint and move (Preempt kind "drain"), otherwise they
finish first. Failing hardware always evicts: its jobs resume elsewhere from their last
checkpoint (kind "failure", no grace: the device is gone).
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.core.model import DeviceState, Preempt, RunningJob, Snapshot


def _hits(device_id: str, target: str) -> bool:
    return device_id == target or device_id.startswith(target + "/")


def set_state(snapshot: Snapshot, target: str, state: DeviceState) -> Snapshot:
    cap = snapshot.capacity
    tiles = tuple(replace(t, state=state) if _hits(t.id, target) else t for t in cap.tiles)
    nodes = tuple(replace(n, state=state) if _hits(n.id, target) else n for n in cap.gpu_nodes)
    if tiles == cap.tiles and nodes == cap.gpu_nodes:
        raise ValueError(f"no tile, tray, cabinet or GPU node matches {target!r}")
    return replace(snapshot, capacity=replace(cap, tiles=tiles, gpu_nodes=nodes))


def _jobs_on(snapshot: Snapshot, target: str) -> list[RunningJob]:
    return [r for r in snapshot.running if any(_hits(d, target) for d in r.placement.devices)]


def drain(snapshot: Snapshot, target: str, evict: bool = False) -> tuple[Snapshot, tuple[Preempt, ...]]:
    out = set_state(snapshot, target, DeviceState.DRAINING)
    if not evict:
        return out, ()
    return out, tuple(Preempt(r.job_id, f"drain: {target} is being drained", None,
                              snapshot.grace_period_s, "drain") for r in _jobs_on(snapshot, target))


def undrain(snapshot: Snapshot, target: str) -> Snapshot:
    return set_state(snapshot, target, DeviceState.FREE)


def mark_failed(snapshot: Snapshot, target: str) -> tuple[Snapshot, tuple[Preempt, ...]]:
    out = set_state(snapshot, target, DeviceState.FAILED)
    return out, tuple(Preempt(r.job_id, f"failure: {target} failed; resumes from its last checkpoint",
                              None, 0.0, "failure") for r in _jobs_on(snapshot, target))


def preempt_job(snapshot: Snapshot, job_id: str, reason: str = "operator request") -> Preempt:
    """Preempt (checkpoint, requeue) one running job; its requeue is the adapter's part."""
    if not any(r.job_id == job_id for r in snapshot.running):
        raise ValueError(f"job {job_id!r} is not running")
    return Preempt(job_id, f"operator: {reason}", None, snapshot.grace_period_s, "operator")


def requeue_job(snapshot: Snapshot, job_id: str) -> Preempt:
    return preempt_job(snapshot, job_id, "requeue")
