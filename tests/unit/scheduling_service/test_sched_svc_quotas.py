"""Quotas persist, reach the core's Snapshot, and drive reclaim: the core decides the
preemption, the store applies and records it, and the next snapshot carries preempted_for
and displaced back to the core."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from sched_svc_people import Fleet, place, spec

from dojocloud.common.errors import InvalidArgument, NotFound
from dojocloud.execution.outcomes import preempt_job
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling import quotas
from dojocloud.scheduling.models import Allocation, Preemption, TenantUsage
from dojocloud.scheduling.quotas import QuotaSpec
from scheduler.core import schedule

TILES = tuple(f"dojo/e0/c0/t0/r{r}c{c}" for r in range(2) for c in range(3))


def test_quotas_reach_the_snapshot_and_others_stay_unlimited(fleet: Fleet) -> None:
    quotas.set_quota(
        QuotaSpec(
            "acme", "dojo", 4, borrowing_limit=1, lending_limit=None, cohort="research", weight=2.0
        ),
        actor="user:ops",
        reason="q3",
    )
    quotas.set_quota(
        QuotaSpec("acme", "gpu-a100", 8, cohort="research", weight=2.0), actor="user:ops"
    )
    tenants = fleet.store.snapshot(timezone.now().timestamp()).tenants
    assert set(tenants) == {"acme"}  # globex has no rows: unlimited
    q = tenants["acme"]
    assert q.nominal == {"dojo": 4, "gpu-a100": 8}
    assert q.borrowing_limit == {"dojo": 1, "gpu-a100": None}
    assert (q.cohort, q.weight) == ("research", 2.0)
    view = quotas.get_quota("acme", "dojo")
    assert (view.updated_by, view.note) == ("user:ops", "q3")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"pool": "tpu"}, "pool"),
        ({"nominal": -1}, "nominal"),
        ({"weight": 0.0}, "weight"),
        ({"cohort": ""}, "cohort"),
    ],
)
def test_bad_quotas_name_the_field(fleet: Fleet, change: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"tenant": "acme", "pool": "dojo", "nominal": 1, **change}
    with pytest.raises(InvalidArgument) as err:
        quotas.set_quota(QuotaSpec(**args), actor="user:ops")  # type: ignore[arg-type]
    assert [v.field for v in err.value.violations] == [field]


def test_unknown_tenant_or_quota_is_not_found(fleet: Fleet) -> None:
    with pytest.raises(NotFound):
        quotas.set_quota(QuotaSpec("nobody", "dojo", 1), actor="user:ops")
    with pytest.raises(NotFound):
        quotas.get_quota("acme", "dojo")


def test_the_borrowing_limit_holds_a_job_back(fleet: Fleet) -> None:
    quotas.set_quota(QuotaSpec("acme", "dojo", 1, borrowing_limit=0), actor="user:ops")
    place(fleet, fleet.acme, "a", TILES[:1])
    waiting = jobs.create_job(fleet.acme, spec("b"))
    now = timezone.now().timestamp()
    fleet.store.apply(schedule(fleet.store.snapshot(now)), now)
    waiting.refresh_from_db()
    assert waiting.state == "QUEUED" and "quota" in waiting.pending_reason
    assert waiting.queue_position >= 1


def test_reclaim_is_decided_by_the_core_and_applied_by_the_store(fleet: Fleet) -> None:
    quotas.set_quota(QuotaSpec("acme", "dojo", 6), actor="user:ops")
    squatters = [place(fleet, fleet.globex, f"g{i}", (t,)) for i, t in enumerate(TILES)]
    long_ago = timezone.now() - timedelta(hours=1)  # past the core's minimum run time
    # A run starts when its devices were held (scheduling.snapshot reads Allocation rows).
    Allocation.objects.filter(job__in=squatters).update(created_at=long_ago)
    owed = jobs.create_job(fleet.acme, spec("mine"))

    now = timezone.now().timestamp()
    applied = fleet.store.apply(schedule(fleet.store.snapshot(now)), now)
    assert applied.preempted == 1
    [row] = Preemption.objects.all()
    assert (row.for_job_id, row.requested_by, row.kind) == (owed.id, "scheduler", "reclaim")
    victim = Job.objects.get(id=row.job_id)
    assert victim.organization.slug == "globex" and victim.preempt_requested

    snap = fleet.store.snapshot(now + 1)
    assert {r.job_id: r.preempted_for for r in snap.running}[victim.id] == owed.id
    # The victim's worker checkpoints and requeues it; the next pass admits the owed job,
    # which remembers whom it displaced.
    assert preempt_job(victim, lease="", reason=victim.preempt_reason) == "preempted"
    fleet.store.apply(schedule(fleet.store.snapshot(now + 2)), now + 2)
    owed.refresh_from_db()
    assert owed.state == "SCHEDULED"
    running = {r.job_id: r for r in fleet.store.snapshot(now + 3).running}
    assert running[owed.id].displaced == frozenset({victim.id})


def test_the_loop_decays_usage(fleet: Fleet) -> None:
    quotas.set_quota(QuotaSpec("acme", "dojo", 6), actor="user:ops")
    place(fleet, fleet.acme, "a", TILES[:3])
    now = timezone.now().timestamp()
    fleet.store.snapshot(now)  # first sight: the row starts at zero
    with override_settings(USAGE_HALF_LIFE_S=3600.0):
        snap = fleet.store.snapshot(now + 100)  # half the pool for 100 s
    assert TenantUsage.objects.get(organization__slug="acme").decayed_usage == pytest.approx(
        50.0, rel=0.05
    )
    assert snap.tenants["acme"].decayed_usage == pytest.approx(50.0, rel=0.05)
    assert snap.usage_half_life_s == 3600.0
