"""Typed client for Dojo Cloud's JobService and AuditService (and, through its mixins,
DatasetService, ModelService, ArtifactService, WebhookService and the job log).

Every call carries a deadline (the config's timeout unless given) and the API key. Failures
raise `dojo.errors.DojoError` subclasses. CreateJob carries a request id, so the client can
retry it on UNAVAILABLE without making a second job; WatchJob reconnects after a dropped
stream and resumes after the last event it delivered. The requests are built by dojo.rpcs,
which `dojo.AsyncClient` shares; channel and TLS: dojo.service.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from dojo import rpcs
from dojo.artifacts import ArtifactMethods
from dojo.datasets import DatasetMethods
from dojo.logs import LogMethods
from dojo.models import ModelMethods
from dojo.service import ServiceClient, open_channel
from dojo.streams import (
    FINAL_STATES,
    WATCH_BUSY_PATIENCE,
    WATCH_MAX_RECONNECTS,
    WATCH_STREAM_TIMEOUT,
    WatchReconnects,
    is_final,
)
from dojo.v1 import audit_pb2, job_pb2
from dojo.webhook_methods import WebhookMethods

__all__ = [
    "FINAL_STATES",
    "WATCH_BUSY_PATIENCE",
    "WATCH_MAX_RECONNECTS",
    "WATCH_STREAM_TIMEOUT",
    "Client",
    "ServiceClient",
    "is_final",
    "open_channel",
]


class Client(
    ArtifactMethods, DatasetMethods, LogMethods, ModelMethods, WebhookMethods, ServiceClient
):
    """`with Client.from_env() as client: client.create_job(spec)`; DatasetService's
    methods come from dojo.datasets, ModelService's from dojo.models, the job log's from
    dojo.logs, ArtifactService's from dojo.artifacts, WebhookService's from dojo.webhook_methods."""

    def create_job(
        self,
        spec: job_pb2.JobSpec,
        *,
        parent: str = "",
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> job_pb2.Job:
        """Submits a job. Retried on UNAVAILABLE with the same request id: one job results."""
        return self._call(rpcs.create_job(spec, parent, request_id), timeout)

    def get_job(self, name: str, *, timeout: float | None = None) -> job_pb2.Job:
        """`name` is `organizations/{org}/jobs/{job}` or the bare job id."""
        return self._call(rpcs.get_job(name), timeout)

    def list_jobs_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        filter: str = "",
        timeout: float | None = None,
    ) -> job_pb2.ListJobsResponse:
        return self._call(rpcs.list_jobs(parent, page_size, page_token, filter), timeout)

    def list_jobs(
        self,
        *,
        parent: str = "",
        state: str | None = None,
        page_size: int = 50,
        timeout: float | None = None,
    ) -> Iterator[job_pb2.Job]:
        """Every job of the caller's organization, newest first, fetched page by page."""
        filter = rpcs.state_filter(state)
        return self._paged(
            lambda t: rpcs.list_jobs(parent, page_size, t, filter), rpcs.jobs_of, timeout
        )

    def cancel_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> job_pb2.Job:
        return self._call(rpcs.cancel_job(name, reason), timeout)

    def estimate_job(
        self, spec: job_pb2.JobSpec, *, timeout: float | None = None
    ) -> list[job_pb2.EstimateOption]:
        return list(self._call(rpcs.estimate_job(spec), timeout).options)

    def list_audit_events_page(
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
        """One page of the audit log, newest first (owners and admins; operators may name
        any organization, or "organizations/-" for everything)."""
        unary = rpcs.list_audit_events(parent, page_size, page_token, action, actor, since, until)
        return self._call(unary, timeout)

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
    ) -> Iterator[audit_pb2.AuditEvent]:
        """Every matching audit event, newest first, fetched page by page. `action` is an
        event name ("key.created") or a prefix ending in "." ("member."); `actor` a
        substring of who did it; `since` inclusive, `until` exclusive."""
        return self._paged(
            lambda t: rpcs.list_audit_events(parent, page_size, t, action, actor, since, until),
            rpcs.events_of,
            timeout,
        )

    def watch_job(
        self,
        name: str,
        *,
        after_event_id: int = 0,
        stream_timeout: float = WATCH_STREAM_TIMEOUT,
        busy_patience: float = WATCH_BUSY_PATIENCE,
    ) -> Iterator[job_pb2.JobEvent]:
        """State changes and metrics of a job, until it is final.

        Each connection has a deadline of `stream_timeout`; when it passes, or the
        connection drops, the watch reconnects and resumes after the last event delivered.
        A server that turns the stream away with RetryInfo (it is turning calls away) is asked
        again after its delay, for up to `busy_patience` seconds without a new event.
        """
        resume = rpcs.WatchResume(name, after_event_id)
        return self._reconnecting(
            lambda: self._stub_of(rpcs.Jobs).WatchJob(
                resume.request(), timeout=stream_timeout, metadata=self._metadata
            ),
            WatchReconnects(busy_patience),
            resume.seen,
        )
