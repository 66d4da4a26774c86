"""Pure placement and policy engine: no Django, no gRPC, no I/O, no wall clock.

The live service (scheduler.loop) and the trace simulator (scheduler.simulate) both call
`schedule(snapshot, policy)` with an immutable Snapshot and apply the returned Decisions.
"""

from scheduler.core.figures import NO_FIGURES, Figures
from scheduler.core.incremental import Scheduler
from scheduler.core.model import (
    ACCELERATOR_POOLS,
    DOJO_ACCELERATOR,
    Admit,
    Capacity,
    Decisions,
    DeviceState,
    GpuNode,
    JobRequest,
    Pending,
    Placement,
    Preempt,
    ReasonCode,
    RunningJob,
    Snapshot,
    TenantQuota,
    Tile,
    pool_for_accelerator,
)
from scheduler.core.policies import POLICIES
from scheduler.core.priority import PRIORITY_CLASSES, priority_value
from scheduler.core.quota import decay_usage
from scheduler.core.schedule import schedule

__all__ = [
    "ACCELERATOR_POOLS",
    "DOJO_ACCELERATOR",
    "Admit",
    "Capacity",
    "Decisions",
    "DeviceState",
    "Figures",
    "GpuNode",
    "JobRequest",
    "NO_FIGURES",
    "Pending",
    "POLICIES",
    "PRIORITY_CLASSES",
    "Placement",
    "Preempt",
    "ReasonCode",
    "RunningJob",
    "Scheduler",
    "Snapshot",
    "TenantQuota",
    "Tile",
    "decay_usage",
    "pool_for_accelerator",
    "priority_value",
    "schedule",
]
