"""Which of a job's options the cluster can hold now, or why it must wait regardless of
what runs: no pool serves it, it is larger than its pool (infeasible), or it fits only
once drained or failed devices are back in service."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scheduler.core.cluster import PoolIndex
from scheduler.core.model import JobRequest, ReasonCode
from scheduler.core.sizing import Option


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why none of a job's options can run on the cluster as it is."""

    reason: str
    code: ReasonCode

    @property
    def infeasible(self) -> bool:
        return self.code is ReasonCode.INFEASIBLE


def usable_options(
    job: JobRequest, given: Sequence[Option], pools: Mapping[str, PoolIndex], fastest_first: bool
) -> Sequence[Option] | Refusal:
    """The options whose pool has enough devices in service (fastest first when the policy
    says so), else why the job waits."""
    if len(given) == 1:  # the common case, without the general path's lists
        o = given[0]
        index = pools.get(o.pool)
        if index is not None and o.count <= index.usable_count:
            return given
    opts = [o for o in given if o.pool in pools]
    if not opts:
        return Refusal(
            f"infeasible: no pool serves {'|'.join(job.accelerators)}", ReasonCode.INFEASIBLE
        )
    usable = [o for o in opts if o.count <= pools[o.pool].usable_count]
    if not usable:
        o = opts[0]
        total = pools[o.pool].total_count
        if all(x.count > pools[x.pool].total_count for x in opts):
            return Refusal(
                f"infeasible: needs {o.count} {o.accelerator}; pool {o.pool} has {total}",
                ReasonCode.INFEASIBLE,
            )
        return Refusal(
            f"waiting for hardware: pool {o.pool} has {pools[o.pool].usable_count}"
            f" of {total} in service",
            ReasonCode.HARDWARE_OUT_OF_SERVICE,
        )
    if job.cheapest_first and len(usable) > 1:
        usable.sort(
            key=lambda o: (math.inf, 0.0) if o.duration_s is None else (o.price, o.duration_s)
        )
    elif fastest_first and len(usable) > 1:
        usable.sort(key=lambda o: (math.inf if o.duration_s is None else o.duration_s, o.price))
    return usable
