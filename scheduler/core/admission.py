"""The walk's admission phase: a job's options in order, each checked against its tenant's
quota and placed on free devices outside other jobs' reservations; the first that fits is
admitted. Placement failures are cached per (pool, size, may use the reservation) for the
rest of the pass: free capacity only shrinks within a pass, so what did not fit will not.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.core.backfill import BackfillPhase
from scheduler.core.model import Admit, JobRequest, Placement, ReasonCode
from scheduler.core.quota import QuotaVerdict
from scheduler.core.sizing import Option

# Module constants, not ReasonCode.X at each use: reading an Enum member off its class costs
# about ten times a global, and these are read per job.
PLACED, BACKFILLED = ReasonCode.PLACED, ReasonCode.BACKFILLED
NO_CAPACITY, BACKFILL_BLOCKED = ReasonCode.NO_CAPACITY, ReasonCode.BACKFILL_BLOCKED
OK, OVER_LIMIT, NEEDS_RECLAIM = QuotaVerdict.OK, QuotaVerdict.OVER_LIMIT, QuotaVerdict.NEEDS_RECLAIM
QUOTA_EXCEEDED, QUOTA_NEEDS_RECLAIM = ReasonCode.QUOTA_EXCEEDED, ReasonCode.QUOTA_NEEDS_RECLAIM
QUOTA_COHORT_FULL = ReasonCode.QUOTA_COHORT_FULL


# Why a job was not admitted: a reason per option in order, the first option's code, and
# the first option its quota allows (backfill reserves it). A plain tuple: built for every
# job whose shape is not memoized yet.
NotAdmitted = tuple[list[str], ReasonCode, Option | None]
Fit = tuple[tuple[str, ...] | None, str, ReasonCode]  # devices (None: no fit), why, code


class AdmissionPhase(BackfillPhase):
    admits: list[Admit]
    no_fit: dict[tuple[str, int, bool], Fit]

    def init_admission(self) -> None:
        self.admits = []
        self.no_fit = {}

    def admit_first(self, job: JobRequest, opts: Sequence[Option]) -> NotAdmitted | None:
        """Admit `job` on its first option that passes quota and fits (None), else say why
        each option failed."""
        reasons: list[str] = []
        code: ReasonCode | None = None
        placeable: Option | None = None
        for opt in opts:
            verdict, why = self.state.quota.check(job.tenant, opt.pool, opt.count)
            if verdict is not OK:
                reasons.append(why)
                if code is None:  # identity tests: an Enum member hashes in Python
                    code = (
                        QUOTA_EXCEEDED
                        if verdict is OVER_LIMIT
                        else QUOTA_NEEDS_RECLAIM
                        if verdict is NEEDS_RECLAIM
                        else QUOTA_COHORT_FULL
                    )
                continue
            devices, why, no_fit = self.place(job, opt)
            if devices is not None:
                self.admit(job, opt, devices)
                return None
            reasons.append(why)
            code = code or no_fit
            placeable = placeable or opt
        assert code is not None  # a job reaches admission with at least one option
        return reasons, code, placeable

    def place(self, job: JobRequest, opt: Option) -> Fit:
        """Devices for `opt` (None, with why, when it does not fit)."""
        cached = self.no_fit.get((opt.pool, opt.count, True))
        if cached is not None:  # no fit on all free devices: none outside a reservation
            return cached
        blocked = self.blocked_for(job, opt)
        key = (opt.pool, opt.count, blocked is None)
        cached = self.no_fit.get(key)
        if cached is not None:
            return cached
        index = self.state.cluster.pools[opt.pool]
        devices = index.place(opt.count, blocked)
        if devices is not None:
            return devices, "", PLACED
        shape = "on one node" if index.kind == "gpu" and opt.count <= 8 else "as a compact block"
        why = (
            f"waiting for {opt.count} {opt.accelerator} {shape}: {index.free_count} free,"
            f" largest free block {index.largest_block()}"
        )
        code = NO_CAPACITY
        if blocked is not None:
            res = self.state.reservations[opt.pool]
            why += f" (outside devices reserved for {res.job_id})"
            code = BACKFILL_BLOCKED
        self.no_fit[key] = fit = (None, why, code)
        return fit

    def admit(self, job: JobRequest, opt: Option, devices: tuple[str, ...]) -> None:
        state = self.state
        state.cluster.allocate(job.job_id, job.tenant, opt.pool, devices)
        state.quota.add(job.tenant, opt.pool, len(devices))
        res = state.reservations.get(opt.pool)
        if res is not None and res.job_id != job.job_id:
            how, code = "backfilled", BACKFILLED
        else:
            how, code = "placed", PLACED
        self.admits.append(
            Admit(
                job.job_id,
                Placement(opt.pool, opt.accelerator, devices),
                f"{how} on {len(devices)} {opt.accelerator} in {opt.pool}",
                code,
            )
        )
        self.changed(opt.pool)
        if not self.explain:
            self.refresh_bounds()
