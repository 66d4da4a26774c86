"""Mutable per-job bookkeeping of a replay, and what a finished replay hands the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.core.model import Placement
from scheduler.simulate.trace import TraceJob


@dataclass(slots=True)
class SimJob:
    """One trace job as the simulator tracks it through queue, runs and preemptions."""

    index: int
    trace: TraceJob
    priority: int
    tenant_index: int
    work: float  # total work, FLOP at peak (see throughput.py)
    est_duration_s: float | None
    done: float = 0.0  # work saved at the last checkpoint, FLOP at peak
    attained_s: float = 0.0  # device-seconds received so far (LAS)
    first_start: float | None = None
    finish: float | None = None
    run_s: float = 0.0  # wall seconds holding devices, lost work included
    lost_s: float = 0.0  # wall seconds of work thrown away by preemptions
    preemptions: int = 0
    # The current run, when running.
    placement: Placement | None = None
    start: float = 0.0
    rate: float = 0.0  # work per wall second on the current placement
    end: float = 0.0
    epoch: int = 0  # bumps on preemption so stale finish events are ignored
    requeued_at: float = 0.0  # when it last entered the queue
    accelerator: str = ""  # type of its latest placement
    preempted_for: str | None = None  # set while it checkpoints in a preemption grace period
    saves_on_stop: bool = False  # its grace period is long enough to write a checkpoint
    spot: bool = False  # preemptible (ReplayOptions.preemptible_fraction): the first victim
    displaced: set[str] = field(default_factory=set)  # jobs it preempted (no ping-pong)

    @property
    def devices(self) -> int:
        return len(self.placement.devices) if self.placement else 0


@dataclass(slots=True)
class Timeline:
    """Step functions recorded at event times; the report bins them."""

    capacity: int = 0
    times: list[float] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)  # allocated devices after time t
    queued: list[int] = field(default_factory=list)  # jobs waiting after time t
    # (time, tenant index, pool index, allocated, demanded devices) on every change.
    tenant_changes: list[tuple[float, int, int, int, int]] = field(default_factory=list)

    def record(self, t: float, busy: int, queued: int) -> None:
        if self.times and self.times[-1] == t:
            self.busy[-1] = busy
            self.queued[-1] = queued
        else:
            self.times.append(t)
            self.busy.append(busy)
            self.queued.append(queued)


@dataclass(slots=True)
class ReplayResult:
    policy: str
    jobs: list[SimJob]
    tenants: list[str]
    timeline: Timeline
    pool_capacity: dict[str, int]
    passes: int = 0
    preemptions: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU seconds of the replay (wall_s on a shared machine is noisier)
    unfinished: int = 0
    checkpoint_interval_s: float = 0.0
    unfinished_reasons: dict[str, int] = field(default_factory=dict)
    pools_order: list[str] = field(default_factory=list)  # pool index -> name
    estimates: str = "hidden"  # what the core knew of run times (replay.ESTIMATE_MODES)
    estimate_sigma: float | None = None  # the noisy mode's lognormal sigma
    # tenant -> pool -> nominal devices (fair share weights); empty: no quotas, all equal
    entitlements: dict[str, dict[str, int]] = field(default_factory=dict)
    label: str = ""  # how reports and plots name this run (the policy when empty)

    @property
    def name(self) -> str:
        return self.label or self.policy
