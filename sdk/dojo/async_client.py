"""`dojo.AsyncClient`: the typed client for asyncio, on grpc.aio channels.

    async with dojo.AsyncClient.from_env() as client:
        job = await client.create_job(spec)
        async for event in client.watch_job(job.name):
            ...

It covers every RPC `dojo.Client` covers, with the same requests (dojo.rpcs), retries
(dojo.retrying: RetryInfo honoured, jittered backoff, DOJO_RETRY_WAIT), deadlines, TLS, API
key and typed errors (dojo.errors). Unary RPCs are coroutines; server streams and the paged
lists are async iterators; uploads and downloads are coroutines (dojo.async_files).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from dojo import rpcs
from dojo.async_files import AsyncFileMethods
from dojo.async_service import AsyncServiceClient
from dojo.streams import (
    LOG_STREAM_TIMEOUT,
    WATCH_BUSY_PATIENCE,
    WATCH_STREAM_TIMEOUT,
    LogReconnects,
    WatchReconnects,
)
from dojo.v1 import audit_pb2, job_pb2, webhook_pb2


class AsyncClient(AsyncFileMethods, AsyncServiceClient):
    """JobService, AuditService and WebhookService here; DatasetService, ModelService and
    ArtifactService from dojo.async_files."""

    # --- JobService -----------------------------------------------------------------------

    async def create_job(
        self,
        spec: job_pb2.JobSpec,
        *,
        parent: str = "",
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> job_pb2.Job:
        """Submits a job. Retried with the same request id: one job results."""
        return await self._call(rpcs.create_job(spec, parent, request_id), timeout)

    async def get_job(self, name: str, *, timeout: float | None = None) -> job_pb2.Job:
        """`name` is `organizations/{org}/jobs/{job}` or the bare job id."""
        return await self._call(rpcs.get_job(name), timeout)

    async def list_jobs_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        filter: str = "",
        timeout: float | None = None,
    ) -> job_pb2.ListJobsResponse:
        return await self._call(rpcs.list_jobs(parent, page_size, page_token, filter), timeout)

    def list_jobs(
        self,
        *,
        parent: str = "",
        state: str | None = None,
        page_size: int = 50,
        timeout: float | None = None,
    ) -> AsyncIterator[job_pb2.Job]:
        """Every job of the caller's organization, newest first, fetched page by page."""
        filter = rpcs.state_filter(state)
        return self._paged(
            lambda t: rpcs.list_jobs(parent, page_size, t, filter), rpcs.jobs_of, timeout
        )

    async def cancel_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> job_pb2.Job:
        return await self._call(rpcs.cancel_job(name, reason), timeout)

    async def estimate_job(
        self, spec: job_pb2.JobSpec, *, timeout: float | None = None
    ) -> list[job_pb2.EstimateOption]:
        return list((await self._call(rpcs.estimate_job(spec), timeout)).options)

    def watch_job(
        self,
        name: str,
        *,
        after_event_id: int = 0,
        stream_timeout: float = WATCH_STREAM_TIMEOUT,
        busy_patience: float = WATCH_BUSY_PATIENCE,
    ) -> AsyncIterator[job_pb2.JobEvent]:
        """State changes and metrics of a job, until it is final; reconnects and resumes
        after the last event delivered as `dojo.Client.watch_job` does."""
        resume = rpcs.WatchResume(name, after_event_id)
        return self._reconnecting(
            lambda: self._stub_of(rpcs.Jobs).WatchJob(
                resume.request(), timeout=stream_timeout, metadata=self._metadata
            ),
            WatchReconnects(busy_patience),
            resume.seen,
        )

    def stream_job_logs(
        self,
        name: str,
        *,
        offset: int = 0,
        follow: bool = False,
        stream_timeout: float = LOG_STREAM_TIMEOUT,
    ) -> AsyncIterator[job_pb2.JobLogChunk]:
        """The job's log from byte `offset` (see `dojo.Client.stream_job_logs`)."""
        resume = rpcs.LogResume(name, offset, follow)
        return self._reconnecting(
            lambda: self._stub_of(rpcs.Jobs).StreamJobLogs(
                resume.request(), timeout=stream_timeout, metadata=self._metadata
            ),
            LogReconnects(follow),
            resume.seen,
        )

    async def read_job_log(self, name: str, *, offset: int = 0) -> tuple[bytes, int]:
        """The job's whole log from `offset` as it is now, and the offset to resume at."""
        parts, end = [], offset
        async for chunk in self.stream_job_logs(name, offset=offset):
            parts.append(chunk.data)
            end = chunk.next_offset
        return b"".join(parts), end

    # --- AuditService ---------------------------------------------------------------------

    async def list_audit_events_page(
        self,
        *,
        parent: str = "",
        page_size: int = 100,
        page_token: str = "",
        action: str = "",
        actor: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        timeout: float | None = None,
    ) -> audit_pb2.ListAuditEventsResponse:
        unary = rpcs.list_audit_events(parent, page_size, page_token, action, actor, since, until)
        return await self._call(unary, timeout)

    def list_audit_events(
        self,
        *,
        parent: str = "",
        action: str = "",
        actor: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 100,
        timeout: float | None = None,
    ) -> AsyncIterator[audit_pb2.AuditEvent]:
        """Every matching audit event, newest first (see `dojo.Client.list_audit_events`)."""
        return self._paged(
            lambda t: rpcs.list_audit_events(parent, page_size, t, action, actor, since, until),
            rpcs.events_of,
            timeout,
        )

    # --- WebhookService -------------------------------------------------------------------

    async def create_webhook(
        self,
        url: str,
        *,
        event_types: Sequence[str] = (),
        description: str = "",
        parent: str = "",
        timeout: float | None = None,
    ) -> webhook_pb2.CreateWebhookResponse:
        """Adds an endpoint; the answer's `secret` is shown only here."""
        unary = rpcs.create_webhook(url, event_types, description, parent)
        return await self._call(unary, timeout)

    async def list_webhooks(
        self, *, parent: str = "", timeout: float | None = None
    ) -> list[webhook_pb2.Webhook]:
        return list((await self._call(rpcs.list_webhooks(parent), timeout)).webhooks)

    async def delete_webhook(self, name: str, *, timeout: float | None = None) -> None:
        await self._call(rpcs.delete_webhook(name), timeout)

    async def test_webhook(
        self, name: str, *, timeout: float | None = None
    ) -> webhook_pb2.WebhookDelivery:
        return await self._call(rpcs.test_webhook(name), timeout)

    async def list_webhook_deliveries(
        self, name: str, *, page_size: int = 0, timeout: float | None = None
    ) -> list[webhook_pb2.WebhookDelivery]:
        answer = await self._call(rpcs.list_webhook_deliveries(name, page_size), timeout)
        return list(answer.deliveries)
