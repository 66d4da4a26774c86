"""The scheduling loop's Store over the database: persists the core's decisions (with their
reasons) and dispatches admitted segments to the pool's Celery queue."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from dojocloud.common.inventory import inventory
from dojocloud.execution.facade import new_token, send_segment
from dojocloud.jobs.facade import Job, lifecycle, transition
from dojocloud.scheduling import capacity, quotas
from dojocloud.scheduling.budget_hold import hold_over_cap
from dojocloud.scheduling.lost_workers import count_lost_worker
from dojocloud.scheduling.models import Allocation
from dojocloud.scheduling.pending_writes import write_pending
from dojocloud.scheduling.preempting import request_preemption
from dojocloud.scheduling.snapshot import Reuse, build_snapshot
from scheduler.core import Admit, Decisions, Preempt, Snapshot
from scheduler.loop import Applied

log = logging.getLogger(__name__)


class _PlacementTaken(Exception):
    pass


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


class DatabaseStore:
    def __init__(self) -> None:
        self._synced = False
        self._reuse = Reuse()  # unchanged queued jobs keep their JobRequest objects

    def snapshot(self, now: float) -> Snapshot:
        if not self._synced:
            capacity.sync_inventory(inventory())
            self._synced = True
        snap = hold_over_cap(build_snapshot(now, self._reuse))
        usage = quotas.advance_usage(snap, now)
        tenants = {
            t: replace(q, decayed_usage=usage.get(t, q.decayed_usage))
            for t, q in snap.tenants.items()
        }
        return replace(snap, tenants=tenants)

    def apply(self, decisions: Decisions, now: float) -> Applied:
        admitted = sum(1 for a in decisions.admits if self._admit(a, now))
        preempted = sum(1 for p in decisions.preemptions if self._preempt(p))
        write_pending(decisions.pending)
        return Applied(admitted, preempted, len(decisions.pending))

    def _admit(self, admit: Admit, now: float) -> bool:
        token = new_token()
        pool = admit.placement.pool
        try:
            with transaction.atomic():
                moved = transition(
                    admit.job_id,
                    lifecycle.SCHEDULED,
                    admit.reason,
                    expect=[lifecycle.QUEUED],
                    now=_dt(now),
                    extra={
                        "attempt": F("attempt") + 1,
                        "pool": pool,
                        "accelerator": admit.placement.accelerator,
                        "devices": list(admit.placement.devices),
                        "segment": 0,
                        "dispatch_token": token,
                        "dispatched_at": _dt(now),
                        "lease_owner": "",
                        "heartbeat_at": None,
                        "pending_reason": "",
                        "queue_position": 0,
                    },
                )
                if moved is None:
                    return False
                attempt = Job.objects.values_list("attempt", flat=True).get(id=admit.job_id)
                if not capacity.hold(admit.job_id, attempt, admit.placement.devices, _dt(now)):
                    raise _PlacementTaken(admit.job_id)
                transaction.on_commit(lambda: send_segment(admit.job_id, token, pool))
        except _PlacementTaken:
            log.warning("placement of %s conflicted with a live allocation", admit.job_id)
            Job.objects.filter(id=admit.job_id, state=lifecycle.QUEUED).update(
                pending_reason="placement conflict; retrying"
            )
            return False
        return True

    def _preempt(self, preempt: Preempt) -> bool:
        return request_preemption(preempt, actor="scheduler")

    def recover(self, now: float) -> int:
        """Re-dispatches placed jobs whose worker went silent, and frees leaked devices."""
        Allocation.objects.filter(released_at__isnull=True).exclude(
            job__state__in=lifecycle.PLACED_STATES
        ).update(released_at=_dt(now))
        cutoff = _dt(now) - timedelta(seconds=float(settings.HEARTBEAT_TIMEOUT_S))
        stale = (
            Job.objects.filter(state__in=lifecycle.PLACED_STATES)
            .filter(
                Q(heartbeat_at__lt=cutoff)
                | Q(heartbeat_at__isnull=True, dispatched_at__lt=cutoff)
                | Q(heartbeat_at__isnull=True, dispatched_at__isnull=True)
            )
            .values_list("id", "dispatch_token", "pool", "heartbeat_at")
        )
        count = 0
        for job_id, old_token, pool, heartbeat_at in stale:
            if heartbeat_at is not None and count_lost_worker(job_id, old_token):
                log.warning("job %s: its worker went silent too often; NODE_FAILURE", job_id)
                continue
            token = new_token()
            if Job.objects.filter(
                id=job_id, dispatch_token=old_token, state__in=lifecycle.PLACED_STATES
            ).update(
                dispatch_token=token, dispatched_at=_dt(now), lease_owner="", heartbeat_at=None
            ):
                log.warning("job %s: no heartbeat since the cutoff; re-dispatching", job_id)
                send_segment(job_id, token, pool)
                count += 1
        return count
