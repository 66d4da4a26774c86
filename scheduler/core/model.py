"""Immutable inputs and outputs of the scheduling core.

Device ids are strings so that the database, the core and the simulator share them:
  tile:  "{pool}/e{exapod}/c{cabinet}/t{tray}/r{row}c{col}"   e.g. "dojo/e0/c0/t0/r1c2"
  gpu:   "{pool}/{node}/g{index}"                              e.g. "gpu-a100/n0/g3"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import NamedTuple

from scheduler.core.figures import NO_FIGURES, Figures

# Accelerator type (what a job spec asks for) -> pool kind prefix. A GPU accelerator
# "gpu-x" runs in the pool of the same name; Dojo tiles run in Dojo pools.
DOJO_ACCELERATOR = "dojo-tile"
ACCELERATOR_POOLS: Mapping[str, str] = {DOJO_ACCELERATOR: "dojo"}

TRAY_ROWS = 2
TRAY_COLS = 3
GPUS_PER_NODE = 8


def pool_for_accelerator(accelerator: str) -> str:
    """The pool that serves an accelerator type ("dojo-tile" -> "dojo", "gpu-a100" -> itself)."""
    return ACCELERATOR_POOLS.get(accelerator, accelerator)


class DeviceState(str, Enum):  # noqa: UP042 (str() stays "DeviceState.FREE" for callers)
    FREE = "free"  # usable (whether it is allocated follows from running jobs)
    DRAINING = "draining"  # no new work; running work finishes or moves
    FAILED = "failed"  # unusable; its jobs resume elsewhere


@dataclass(frozen=True, slots=True)
class Tile:
    pool: str
    exapod: int
    cabinet: int
    tray: int
    row: int
    col: int
    state: DeviceState = DeviceState.FREE

    @property
    def id(self) -> str:
        return f"{self.pool}/e{self.exapod}/c{self.cabinet}/t{self.tray}/r{self.row}c{self.col}"


@dataclass(frozen=True, slots=True)
class GpuNode:
    pool: str
    name: str  # "n0"
    gpus: int = GPUS_PER_NODE
    state: DeviceState = DeviceState.FREE
    failed_gpus: frozenset[int] = frozenset()
    # The rack (top-of-rack switch) the node sits in; "" is one rack for the pool. A job
    # above one node takes whole nodes of one rack when one rack holds it.
    rack: str = ""

    @property
    def id(self) -> str:
        return f"{self.pool}/{self.name}"

    def gpu_id(self, index: int) -> str:
        return f"{self.pool}/{self.name}/g{index}"


@dataclass(frozen=True, slots=True)
class Capacity:
    tiles: tuple[Tile, ...] = ()
    gpu_nodes: tuple[GpuNode, ...] = ()
    # Throughput and price per accelerator type (sizing and ties between a job's options);
    # producers fill it from dojo_runtime.specs (scheduler.inventory.hardware_figures).
    figures: Figures = NO_FIGURES

    def pools(self) -> dict[str, str]:
        """pool name -> accelerator type it serves."""
        out: dict[str, str] = {}
        for t in self.tiles:
            out[t.pool] = DOJO_ACCELERATOR
        for n in self.gpu_nodes:
            out[n.pool] = n.pool
        return out


@dataclass(frozen=True, slots=True)
class Placement:
    pool: str
    accelerator: str
    devices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A queued job as the core sees it."""

    job_id: str
    tenant: str
    accelerators: tuple[str, ...]  # acceptable types, preferred first
    count: int  # tiles or GPUs of accelerators[0]
    submit_time: float  # seconds, on the injected clock
    priority: int = 0  # larger runs first; classes map onto integers
    # Estimated run time on accelerators[0], if known (backfill and heterogeneity use it).
    est_duration_s: float | None = None
    attained_service_s: float = 0.0  # device-seconds already received (LAS, fair share)
    # Per-accelerator estimates for the alternatives (the runtime's estimator fills these);
    # missing ones come from the sizing model in scheduler.core.sizing (Capacity.figures).
    est_durations: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)  # devices per alternative
    # The spec's `preemptible` flag (spot): a spot waiter never preempts other spot jobs.
    spot: bool = False
    # The job's choice among its alternatives: the cheapest estimated cost instead of the
    # earliest finish (both break ties by the other).
    cheapest_first: bool = False


@dataclass(frozen=True, slots=True)
class RunningJob:
    job_id: str
    tenant: str
    placement: Placement
    start_time: float
    priority: int = 0
    last_checkpoint_time: float | None = None
    est_end_time: float | None = None
    preemptible: bool = True
    # Device-seconds received before its current run started (the core adds the current run).
    attained_service_s: float = 0.0
    # Set once a Preempt was issued: the job is checkpointing within its grace period and
    # still holds its devices; it is never chosen as a victim twice.
    preempted_for: str | None = None
    # Jobs this one displaced by preemption: they may not pick it as their victim (no
    # ping-pong). The live adapter and the simulator keep it; Scheduler does so itself.
    displaced: frozenset[str] = frozenset()
    # When it was submitted (None: unknown). A job that had starved before this run started
    # (Policy.starvation_s) is not preempted for a shorter one: it would only starve again.
    submit_time: float | None = None
    # The spec's `preemptible` flag (spot; not `preemptible` above, which says whether it
    # may be a victim at all): the first victim of any waiter that is not spot itself.
    spot: bool = False


@dataclass(frozen=True, slots=True)
class TenantQuota:
    """Per-pool quota in devices (tiles or GPUs), modelled on Kueue's ClusterQueue."""

    nominal: Mapping[str, int] = field(default_factory=dict)
    borrowing_limit: Mapping[str, int | None] = field(default_factory=dict)
    lending_limit: Mapping[str, int | None] = field(default_factory=dict)
    cohort: str = "default"
    weight: float = 1.0
    # Half-life-decayed dominant-share-seconds (scheduler.core.quota.decay_usage keeps it).
    decayed_usage: float = 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    now: float
    capacity: Capacity
    queued: tuple[JobRequest, ...] = ()
    running: tuple[RunningJob, ...] = ()
    tenants: Mapping[str, TenantQuota] = field(default_factory=dict)
    grace_period_s: float = 60.0  # a victim's time to checkpoint before it stops
    usage_half_life_s: float = 7 * 24 * 3600.0  # for normalising TenantQuota.decayed_usage
    # A job is not a victim of reclaim or of a shorter job until it has run this long since
    # its last start (no churn); priority preemption ignores it.
    min_run_s: float = 300.0
    # Running jobs checkpoint at least this often from their start (None: only the
    # reported RunningJob.last_checkpoint_time counts); victim choice reads it.
    checkpoint_interval_s: float | None = None


class ReasonCode(StrEnum):
    """The machine-readable part of a decision's reason: what the walk found, stable across
    releases (match on it, never on the message, which is for people and may be reworded).
    Values are the lower-case names; a Preempt's code is its `kind`."""

    # Pending: why a job waits (a job with several options: its first option's reason).
    INFEASIBLE = "infeasible"  # no pool could ever hold it
    HARDWARE_OUT_OF_SERVICE = (
        "hardware_out_of_service"  # fits only with drained/failed devices back
    )
    NO_CAPACITY = "no_capacity"  # no free block of its size and shape now
    BACKFILL_BLOCKED = "backfill_blocked"  # fits only on devices reserved for another job
    HOLDS_RESERVATION = "holds_reservation"  # no capacity; holds its pool's backfill reservation
    QUOTA_EXCEEDED = "quota_exceeded"  # above nominal + borrowing limit
    QUOTA_NEEDS_RECLAIM = "quota_needs_reclaim"  # within nominal, but lent to the cohort
    QUOTA_COHORT_FULL = "quota_cohort_full"  # at nominal, and the cohort has none to lend
    HEAD_OF_LINE_BLOCKED = "head_of_line_blocked"  # strict FIFO: behind an earlier waiter
    PREEMPTING = "preempting"  # victims chosen in this pass; starts after them
    WAITING_FOR_VICTIMS = "waiting_for_victims"  # victims of an earlier pass still checkpointing
    # Admit
    PLACED = "placed"
    BACKFILLED = "backfilled"  # on devices reserved for a later start
    # Preempt (Preempt.kind)
    RECLAIM = "reclaim"
    PRIORITY = "priority"
    SHORTER = "shorter"
    SERVICE = "service"  # least attained service: the victim has had a whole queue more
    MIGRATE = "migrate"  # moved to free GPUs elsewhere so a waiter gets a whole node
    PREEMPTIBLE = "preemptible"  # the victim is a preemptible (spot) job: it goes first
    BUDGET = "budget"  # its organization reached its monthly budget's hard cap (the platform)
    OPERATOR = "operator"
    DRAIN = "drain"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class Admit:
    job_id: str
    placement: Placement
    reason: str
    code: ReasonCode = ReasonCode.PLACED


@dataclass(frozen=True, slots=True)
class Preempt:
    job_id: str
    reason: str
    for_job_id: str | None = None
    grace_s: float = 0.0  # checkpoint within this, then stop and requeue
    # "preemptible" | "reclaim" | "priority" | "shorter" | "service" | "migrate" | "operator"
    # | "drain" | "failure" | "budget"
    # (stored as text)
    kind: str = "priority"

    @property
    def code(self) -> ReasonCode:
        return ReasonCode(self.kind)


class Pending(NamedTuple):
    """A NamedTuple, not a frozen dataclass: a pass builds one per waiting job (10,000s),
    and a frozen dataclass costs several times more to construct."""

    job_id: str
    reason: str
    position: int  # 1-based position in the queue order the policy chose
    infeasible: bool = False  # larger than anything the cluster could ever offer
    code: ReasonCode | None = None  # the walk always sets it; None only when built by hand


@dataclass(frozen=True, slots=True)
class Decisions:
    admits: tuple[Admit, ...] = ()
    preemptions: tuple[Preempt, ...] = ()
    pending: tuple[Pending, ...] = ()
