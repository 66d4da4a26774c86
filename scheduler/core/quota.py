"""Quota accounting in the manner of Kueue's ClusterQueues and cohorts.

Per tenant and pool: `nominal` N (guaranteed), `borrowing_limit` B (most it may use above
N; None = no limit) and `lending_limit` L (most of its unused N that others may borrow;
None = all of it). The part N - min(N, L) is never lent. Within a cohort, what members use
above their unlendable part must fit in the sum of their lendable parts. A tenant with no
TenantQuota is unlimited (only free hardware bounds it) and counts as borrowing everywhere,
so guaranteed tenants can reclaim from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from scheduler.core.model import TenantQuota


class QuotaVerdict(Enum):
    OK = "ok"
    OVER_LIMIT = "over borrowing limit"  # nothing will help but finishing work
    NEEDS_RECLAIM = "needs reclaim"  # within nominal; borrowers hold the cohort
    NO_BORROW = "cohort has nothing to lend"  # above nominal and the cohort is full


@dataclass(slots=True)
class QuotaBook:
    tenants: Mapping[str, TenantQuota]
    pool_size: Mapping[str, int]  # usable devices per pool (fair share)
    half_life_s: float = 7 * 24 * 3600.0
    usage: dict[str, dict[str, int]] = field(default_factory=dict)  # tenant -> pool -> n
    cohort_used: dict[tuple[str, str], int] = field(default_factory=dict)
    cohort_cap: dict[tuple[str, str], int] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)  # cache; a tenant's add() drops it

    def __post_init__(self) -> None:
        for q in self.tenants.values():
            for pool in set(q.nominal) | set(self.pool_size):
                key = (q.cohort, pool)
                self.cohort_cap[key] = self.cohort_cap.get(key, 0) + self._lendable(q, pool)

    @staticmethod
    def _lendable(q: TenantQuota, pool: str) -> int:
        n = q.nominal.get(pool, 0)
        limit = q.lending_limit.get(pool)
        return n if limit is None else min(n, limit)

    def _guaranteed(self, q: TenantQuota, pool: str) -> int:
        return q.nominal.get(pool, 0) - self._lendable(q, pool)

    def used(self, tenant: str, pool: str) -> int:
        return self.usage.get(tenant, {}).get(pool, 0)

    def nominal(self, tenant: str, pool: str) -> int | None:
        q = self.tenants.get(tenant)
        return None if q is None else q.nominal.get(pool, 0)

    def add(self, tenant: str, pool: str, n: int) -> None:
        """Charge n devices (negative to refund)."""
        self.shares.pop(tenant, None)
        per = self.usage.setdefault(tenant, {})
        before = per.get(pool, 0)
        per[pool] = before + n
        q = self.tenants.get(tenant)
        if q is not None:
            g = self._guaranteed(q, pool)
            key = (q.cohort, pool)
            delta = max(0, before + n - g) - max(0, before - g)
            self.cohort_used[key] = self.cohort_used.get(key, 0) + delta

    def check(self, tenant: str, pool: str, n: int) -> tuple[QuotaVerdict, str]:
        q = self.tenants.get(tenant)
        if q is None:
            return QuotaVerdict.OK, ""
        used = self.used(tenant, pool)
        nominal = q.nominal.get(pool, 0)
        limit = q.borrowing_limit.get(pool)
        if limit is not None and used + n > nominal + limit:
            return QuotaVerdict.OVER_LIMIT, (
                f"quota: {tenant} would use {used + n} {pool} devices, above nominal {nominal}"
                f" + borrowing limit {limit}"
            )
        g = self._guaranteed(q, pool)
        key = (q.cohort, pool)
        delta = max(0, used + n - g) - max(0, used - g)
        if self.cohort_used.get(key, 0) + delta <= self.cohort_cap.get(key, 0):
            return QuotaVerdict.OK, ""
        if used + n <= nominal:
            return QuotaVerdict.NEEDS_RECLAIM, (
                f"quota: within {tenant}'s nominal {nominal} {pool}, lent to cohort {q.cohort}"
            )
        return QuotaVerdict.NO_BORROW, (
            f"quota: {tenant} is at nominal {nominal} {pool} and cohort {q.cohort} has none to lend"
        )

    def borrowing(self, tenant: str, pool: str) -> bool:
        """Above its nominal in `pool` (an unlimited tenant borrows whatever it uses)."""
        q = self.tenants.get(tenant)
        nominal = 0 if q is None else q.nominal.get(pool, 0)
        return self.used(tenant, pool) > nominal

    def same_cohort(self, a: str, b: str) -> bool:
        qa, qb = self.tenants.get(a), self.tenants.get(b)
        return qa is None or qb is None or qa.cohort == qb.cohort

    def share(self, tenant: str) -> float:
        """Weighted dominant share: the largest fraction of any pool it holds now, plus its
        half-life-decayed usage (dominant-share-seconds over the decay time constant)."""
        cached = self.shares.get(tenant)
        if cached is not None:
            return cached
        self.shares[tenant] = value = self._share(tenant)
        return value

    def _share(self, tenant: str) -> float:
        q = self.tenants.get(tenant)
        dominant = 0.0
        for pool, n in self.usage.get(tenant, {}).items():
            size = self.pool_size.get(pool, 0)
            if size and n / size > dominant:
                dominant = n / size
        if q is None:
            return dominant
        tau = self.half_life_s / 0.6931471805599453
        return (dominant + q.decayed_usage / tau) / max(q.weight, 1e-9)


def decay_usage(previous: float, dominant_share: float, dt_s: float, half_life_s: float) -> float:
    """Next TenantQuota.decayed_usage after `dt_s` seconds at `dominant_share`."""
    factor = 0.5 ** (dt_s / half_life_s) if half_life_s > 0 else 0.0
    return previous * factor + dominant_share * dt_s
