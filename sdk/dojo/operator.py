"""Typed client for Dojo Cloud's SchedulerService: the operators' view of the fleet.

Callers need an operator key (owner or admin of the operator organization); anyone else gets
`dojo.errors.PermissionDeniedError`. Same habits as `dojo.client.Client`: the config's
timeout is the deadline of every call, failures raise `DojoError` subclasses, and reads are
retried on UNAVAILABLE. Actions (drain, fail, quota, preempt ...) are sent once: a retry could
act twice, so an UNAVAILABLE one is the caller's to check and repeat.
"""

from __future__ import annotations

from functools import cached_property

from dojo.service import ServiceClient
from dojo.v1 import scheduler_pb2 as pb
from dojo.v1 import scheduler_pb2_grpc


class OperatorClient(ServiceClient):
    """`with OperatorClient.from_env() as ops: ops.drain("dojo/e0/c0/t0")`."""

    @cached_property
    def _stub(self) -> scheduler_pb2_grpc.SchedulerServiceStub:
        return scheduler_pb2_grpc.SchedulerServiceStub(self._channel)

    # --- reads --------------------------------------------------------------------------

    def get_capacity(self, *, pool: str = "", timeout: float | None = None) -> pb.Capacity:
        """Every tile and GPU with its state and holder, and totals per pool."""
        request = pb.GetCapacityRequest(pool=pool)
        return self._read(self._stub.GetCapacity, request, pb.Capacity, timeout)

    def list_queue(
        self, *, pool: str = "", page_size: int = 0, timeout: float | None = None
    ) -> pb.ListQueueResponse:
        """Waiting jobs in queue order (server default page 100, max 1000) and the total."""
        request = pb.ListQueueRequest(pool=pool, page_size=page_size)
        return self._read(self._stub.ListQueue, request, pb.ListQueueResponse, timeout)

    def get_quota(self, tenant: str, pool: str, *, timeout: float | None = None) -> pb.Quota:
        request = pb.GetQuotaRequest(tenant=tenant, pool=pool)
        return self._read(self._stub.GetQuota, request, pb.Quota, timeout)

    def list_quotas(self, *, tenant: str = "", timeout: float | None = None) -> list[pb.Quota]:
        request = pb.ListQuotasRequest(tenant=tenant)
        response = self._read(self._stub.ListQuotas, request, pb.ListQuotasResponse, timeout)
        return list(response.quotas)

    # --- actions ------------------------------------------------------------------------

    def drain(
        self, target: str, *, evict: bool = False, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        """`target`: a tile, a tray ("dojo/e0/c0/t0") or a GPU node ("gpu-a100/n0").

        Nothing new is placed there; with `evict`, running jobs checkpoint and move now.
        """
        request = pb.DrainRequest(target=target, evict=evict, reason=reason)
        return self._act(self._stub.Drain, request, pb.OperationResult, timeout)

    def undrain(
        self, target: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        request = pb.UndrainRequest(target=target, reason=reason)
        return self._act(self._stub.Undrain, request, pb.OperationResult, timeout)

    def mark_failed(
        self, target: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        request = pb.MarkFailedRequest(target=target, reason=reason)
        return self._act(self._stub.MarkFailed, request, pb.OperationResult, timeout)

    def set_quota(
        self, quota: pb.Quota, *, reason: str = "", timeout: float | None = None
    ) -> pb.Quota:
        """Replaces the tenant's quota in `quota.pool`; unset limits mean unlimited."""
        request = pb.SetQuotaRequest(quota=quota, reason=reason)
        return self._act(self._stub.SetQuota, request, pb.Quota, timeout)

    def preempt_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.JobPlacement:
        """Checkpoint, then back to the queue. `name`: organizations/{org}/jobs/{job}."""
        request = pb.PreemptJobRequest(name=name, reason=reason)
        return self._act(self._stub.PreemptJob, request, pb.JobPlacement, timeout)

    def requeue_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.JobPlacement:
        """Back to the queue now; the job resumes from its last checkpoint."""
        request = pb.RequeueJobRequest(name=name, reason=reason)
        return self._act(self._stub.RequeueJob, request, pb.JobPlacement, timeout)
