"""Operator actions as pure functions: they return a new Snapshot (device states changed in
its Capacity) and, where running work must move, the preemptions that say so.

Targets are device ids or prefixes: a tile "dojo/e0/c0/t0/r0c1", a tray "dojo/e0/c0/t0",
a cabinet "dojo/e0/c3", a GPU node "gpu-a100/n4". Draining stops new work; with
`evict=True` running jobs there checkpoint and move (Preempt kind "drain"), otherwise they
finish first. Failing hardware always evicts: its jobs resume elsewhere from their last
checkpoint (kind "failure", no grace: the device is gone).

This module owns the operator rules: which devices a target hits and the Preempt (reason,
kind, grace) each action makes. The platform's database actions
(dojocloud.scheduling.operator_actions) match targets and build their Preempts here.
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.core.model import DeviceState, Preempt, RunningJob, Snapshot

# Preempt kinds (Preemption.kind on the platform).
DRAIN, FAILURE, OPERATOR = "drain", "failure", "operator"


def hits(device_id: str, target: str) -> bool:
    """Whether a target names this device or a group it is in: "dojo/e0/c0" hits
    "dojo/e0/c0/t1/r0c2" but not "dojo/e0/c01/t0/r0c0"."""
    return device_id == target or device_id.startswith(target + "/")


def _reason(base: str, why: str) -> str:
    return f"{base}: {why}" if why else base


# --- the Preempt each action makes (the platform's operator actions build theirs here) ---


def drain_preempt(job_id: str, target: str, grace_s: float, why: str = "") -> Preempt:
    """Evicted by a drain: checkpoint within the grace period, then move."""
    return Preempt(job_id, _reason(f"drain: {target} is being drained", why), None, grace_s, DRAIN)


def failure_preempt(job_id: str, target: str, why: str = "") -> Preempt:
    """On failed hardware: no grace (the device is gone), resume from the last checkpoint."""
    return Preempt(
        job_id,
        _reason(f"failure: {target} failed; resumes from its last checkpoint", why),
        None,
        0.0,
        FAILURE,
    )


def operator_preempt(job_id: str, why: str, grace_s: float) -> Preempt:
    """An operator's preemption: checkpoint within the grace period, then requeue."""
    return Preempt(job_id, f"operator: {why}", None, grace_s, OPERATOR)


def requeue_preempt(job_id: str, why: str) -> Preempt:
    """An operator's requeue: now, without waiting for a checkpoint."""
    return Preempt(job_id, f"operator: {why}", None, 0.0, OPERATOR)


# --- the actions on a Snapshot (tests and the simulator) ---------------------------------


def set_state(snapshot: Snapshot, target: str, state: DeviceState) -> Snapshot:
    cap = snapshot.capacity
    tiles = tuple(replace(t, state=state) if hits(t.id, target) else t for t in cap.tiles)
    nodes = tuple(replace(n, state=state) if hits(n.id, target) else n for n in cap.gpu_nodes)
    if tiles == cap.tiles and nodes == cap.gpu_nodes:
        raise ValueError(f"no tile, tray, cabinet or GPU node matches {target!r}")
    return replace(snapshot, capacity=replace(cap, tiles=tiles, gpu_nodes=nodes))


def _jobs_on(snapshot: Snapshot, target: str) -> list[RunningJob]:
    return [r for r in snapshot.running if any(hits(d, target) for d in r.placement.devices)]


def drain(
    snapshot: Snapshot, target: str, evict: bool = False
) -> tuple[Snapshot, tuple[Preempt, ...]]:
    out = set_state(snapshot, target, DeviceState.DRAINING)
    if not evict:
        return out, ()
    return out, tuple(
        drain_preempt(r.job_id, target, snapshot.grace_period_s) for r in _jobs_on(snapshot, target)
    )


def undrain(snapshot: Snapshot, target: str) -> Snapshot:
    return set_state(snapshot, target, DeviceState.FREE)


def mark_failed(snapshot: Snapshot, target: str) -> tuple[Snapshot, tuple[Preempt, ...]]:
    out = set_state(snapshot, target, DeviceState.FAILED)
    return out, tuple(failure_preempt(r.job_id, target) for r in _jobs_on(snapshot, target))
