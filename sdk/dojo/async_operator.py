"""`dojo.AsyncOperatorClient`: `dojo.operator.OperatorClient` (SchedulerService, the
operators' view of the fleet) for asyncio, on a grpc.aio channel.

    async with dojo.AsyncOperatorClient.from_env() as ops:
        capacity = await ops.get_capacity(pool="dojo")

The same requests (dojo.rpcs_scheduler), deadlines, TLS, API key and typed errors as the
sync client: reads retried, actions (drain, quota, preempt ...) sent once. Callers need an
operator key; anyone else gets `dojo.errors.PermissionDeniedError`.
"""

from __future__ import annotations

from dojo import rpcs_scheduler as rpcs
from dojo.async_service import AsyncServiceClient
from dojo.v1 import scheduler_pb2 as pb


class AsyncOperatorClient(AsyncServiceClient):
    # --- reads --------------------------------------------------------------------------

    async def get_capacity(self, *, pool: str = "", timeout: float | None = None) -> pb.Capacity:
        """Every tile and GPU with its state and holder, and totals per pool."""
        return await self._call(rpcs.get_capacity(pool), timeout)

    async def list_queue(
        self, *, pool: str = "", page_size: int = 0, timeout: float | None = None
    ) -> pb.ListQueueResponse:
        """Waiting jobs in queue order (server default page 100, max 1000) and the total."""
        return await self._call(rpcs.list_queue(pool, page_size), timeout)

    async def get_quota(self, tenant: str, pool: str, *, timeout: float | None = None) -> pb.Quota:
        return await self._call(rpcs.get_quota(tenant, pool), timeout)

    async def list_quotas(
        self, *, tenant: str = "", timeout: float | None = None
    ) -> list[pb.Quota]:
        return list((await self._call(rpcs.list_quotas(tenant), timeout)).quotas)

    # --- actions (sent once) ------------------------------------------------------------

    async def drain(
        self, target: str, *, evict: bool = False, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        """`target`: a tile, a tray or a GPU node; with `evict`, running jobs move now."""
        return await self._call(rpcs.drain(target, evict, reason), timeout)

    async def undrain(
        self, target: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        return await self._call(rpcs.undrain(target, reason), timeout)

    async def mark_failed(
        self, target: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.OperationResult:
        return await self._call(rpcs.mark_failed(target, reason), timeout)

    async def set_quota(
        self, quota: pb.Quota, *, reason: str = "", timeout: float | None = None
    ) -> pb.Quota:
        """Replaces the tenant's quota in `quota.pool`; unset limits mean unlimited."""
        return await self._call(rpcs.set_quota(quota, reason), timeout)

    async def preempt_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.JobPlacement:
        """Checkpoint, then back to the queue. `name`: organizations/{org}/jobs/{job}."""
        return await self._call(rpcs.preempt_job(name, reason), timeout)

    async def requeue_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> pb.JobPlacement:
        """Back to the queue now; the job resumes from its last checkpoint."""
        return await self._call(rpcs.requeue_job(name, reason), timeout)
