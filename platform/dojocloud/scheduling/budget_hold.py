"""Holding the jobs of organizations at their monthly budget's hard cap (billing decides
who is; scheduling acts). Each pass, before the core decides:

* their running jobs are asked to checkpoint and stop (a graceful preemption of kind
  `budget`: the worker checkpoints at its next step boundary and requeues the job);
* their queued jobs leave the snapshot, so nothing of theirs is placed, and wait with the
  pending reason `BUDGET_EXHAUSTED: ...` (portal, CLI and API show it).

Nothing is stored about the hold itself: when spend drops below the cap (the budget was
raised, or a new UTC month started) the next pass simply places their jobs again, each
resuming from its latest checkpoint."""

from __future__ import annotations

from dataclasses import replace

from dojocloud.billing.facade import organizations_at_cap
from dojocloud.jobs.facade import Job, lifecycle
from dojocloud.scheduling.preempting import request_preemption
from scheduler.core import Preempt, ReasonCode, Snapshot

ACTOR = "billing"


def hold_over_cap(snap: Snapshot) -> Snapshot:
    """The snapshot without the held organizations' queued jobs, after flagging their
    running ones to stop; unchanged when no organization is at its cap."""
    held = organizations_at_cap()
    if not held:
        return snap
    for r in snap.running:
        if r.tenant in held and r.preempted_for is None and r.preemptible:
            request_preemption(
                Preempt(r.job_id, held[r.tenant], None, snap.grace_period_s, ReasonCode.BUDGET),
                actor=ACTOR,
            )
    waiting = [j for j in snap.queued if j.tenant in held]
    for tenant, reason in held.items():
        ids = [j.job_id for j in waiting if j.tenant == tenant]
        Job.objects.filter(id__in=ids, state=lifecycle.QUEUED).exclude(
            pending_reason=reason
        ).update(pending_reason=reason, queue_position=0)
    return replace(snap, queued=tuple(j for j in snap.queued if j.tenant not in held))
