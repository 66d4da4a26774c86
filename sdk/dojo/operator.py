"""Typed client for Dojo Cloud's SchedulerService: the operators' view of the fleet.

Callers need an operator key (owner or admin of the operator organization); anyone else gets
`dojo.errors.PermissionDeniedError`. Same habits as `dojo.client.Client`: the config's
timeout is the deadline of every call, failures raise `DojoError` subclasses, and reads are
retried on UNAVAILABLE. Actions (drain, fail, quota, preempt ...) are sent once: a retry could
act twice, so an UNAVAILABLE one is the caller's to check and repeat.
"""

from __future__ import annotations

from dojo import rpcs_scheduler as rpcs
from dojo.service import ServiceClient
from dojo.v1 import scheduler_pb2 as pb


class OperatorClient(ServiceClient):
    """`with OperatorClient.from_env() as ops: ops.drain("dojo/e0/c0/t0")`. Requests built
    by dojo.rpcs_scheduler, which `dojo.AsyncOperatorClient` shares."""

    # --- reads --------------------------------------------------------------------------

    def get_capacity(self, *, pool: str = "", timeout: float | None = None) -> pb.Capacity:
        """Every tile and GPU with its state and holder, and totals per pool."""
        return self._call(rpcs.get_capacity(pool), timeout)

    def list_queue(
        self, *, pool: str = "", page_size: int = 0, timeout: float | None = None
    ) -> pb.ListQueueResponse:
        """Waiting jobs in queue order (server default page 100, max 1000) and the total."""
        return self._call(rpcs.list_queue(pool, page_size), timeout)

    def get_quota(self, tenant: str, pool: str, *, timeout: float | None = None) -> pb.Quota:
        return self._call(rpcs.get_quota(tenant, pool), timeout)

    def list_quotas(self, *, tenant: str = "", timeout: float | None = None) -> list[pb.Quota]:
        return list(self._call(rpcs.list_quotas(tenant), timeout).quotas)

    # --- actions ------------------------------------------------------------------------

    def drain(
        self, target: str, *, evict: bool = False, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        """`target`: a tile, a tray ("dojo/e0/c0/t0") or a GPU node ("gpu-a100/n0").

        Nothing new is placed there; with `evict`, running jobs checkpoint and move now.
        """
        return self._call(rpcs.drain(target, evict, reason), timeout)

    def undrain(
        self, target: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        return self._call(rpcs.undrain(target, reason), timeout)

    def mark_failed(
        self, target: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        return self._call(rpcs.mark_failed(target, reason), timeout)

    def set_quota(
        self, quota: pb.Quota, *, reason: str = "", timeout: float | None = None
    ) -> pb.Quota:
        """Replaces the tenant's quota in `quota.pool`; unset limits mean unlimited."""
        return self._call(rpcs.set_quota(quota, reason), timeout)

    def preempt_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.JobPlacement:
        """Checkpoint, then back to the queue. `name`: organizations/{org}/jobs/{job}."""
        return self._call(rpcs.preempt_job(name, reason), timeout)

    def requeue_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.JobPlacement:
        """Back to the queue now; the job resumes from its last checkpoint."""
        return self._call(rpcs.requeue_job(name, reason), timeout)
