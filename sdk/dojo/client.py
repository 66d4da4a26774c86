"""Typed client for Dojo Cloud's JobService.

Every call carries a deadline (the config's timeout unless given) and the API key. Failures
raise `dojo.errors.DojoError` subclasses. CreateJob carries a request id, so the client can
retry it on UNAVAILABLE without making a second job; WatchJob reconnects after a dropped
stream and resumes after the last event it delivered.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self, TypeVar

import grpc

from dojo.config import ClientConfig
from dojo.errors import from_rpc_error
from dojo.v1 import job_pb2, job_pb2_grpc

T = TypeVar("T")

RETRY_ATTEMPTS = 5
RETRY_BASE_DELAY = 0.2      # seconds; doubles per attempt
RETRY_MAX_DELAY = 2.0
WATCH_STREAM_TIMEOUT = 300.0  # deadline of one WatchJob connection; the watch reconnects
WATCH_MAX_RECONNECTS = 5      # consecutive UNAVAILABLE reconnects without a new event

FINAL_STATES = frozenset({job_pb2.SUCCEEDED, job_pb2.FAILED, job_pb2.CANCELLED})


class ServiceClient:
    """What every service client shares: config, channel, API key, deadlines, retries.

    Subclasses build their stub from `self._channel` and call through `_retrying` (idempotent
    calls) or `_once`, passing `timeout=self._timeout(t)` and `metadata=self._metadata`.
    """

    def __init__(self, config: ClientConfig | None = None, *,
                 channel: grpc.Channel | None = None) -> None:
        self.config = config or ClientConfig.from_env()
        self._own_channel = channel is None
        self._channel = channel or grpc.insecure_channel(self.config.server)
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {self.config.api_key}"),) if self.config.api_key else ()
        )

    @classmethod
    def from_env(cls, **overrides: object) -> Self:
        return cls(ClientConfig.from_env(None, **overrides))

    def close(self) -> None:
        if self._own_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _timeout(self, timeout: float | None) -> float:
        return self.config.timeout if timeout is None else timeout

    def _once(self, call: Callable[[], T]) -> T:
        """Runs a call that must not be repeated blindly; errors become DojoErrors."""
        try:
            return call()
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def _retrying(self, call: Callable[[], T]) -> T:
        """Runs an idempotent call, retrying UNAVAILABLE with exponential backoff."""
        for attempt in range(RETRY_ATTEMPTS):
            try:
                return call()
            except grpc.RpcError as exc:
                unavailable = isinstance(exc, grpc.Call) and (
                    exc.code() == grpc.StatusCode.UNAVAILABLE)
                if not unavailable or attempt == RETRY_ATTEMPTS - 1:
                    raise from_rpc_error(exc) from None
                time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")


class Client(ServiceClient):
    """`with Client.from_env() as client: client.create_job(spec)`."""

    def __init__(self, config: ClientConfig | None = None, *,
                 channel: grpc.Channel | None = None) -> None:
        super().__init__(config, channel=channel)
        self._stub = job_pb2_grpc.JobServiceStub(self._channel)

    # --- RPCs ---------------------------------------------------------------------------

    def create_job(self, spec: job_pb2.JobSpec, *, parent: str = "",
                   request_id: str | None = None, timeout: float | None = None) -> job_pb2.Job:
        """Submits a job. Retried on UNAVAILABLE with the same request id: one job results."""
        request = job_pb2.CreateJobRequest(parent=parent, job_spec=spec,
                                           request_id=request_id or str(uuid.uuid4()))
        return self._retrying(lambda: self._stub.CreateJob(
            request, timeout=self._timeout(timeout), metadata=self._metadata))

    def get_job(self, name: str, *, timeout: float | None = None) -> job_pb2.Job:
        """`name` is `organizations/{org}/jobs/{job}` or the bare job id."""
        request = job_pb2.GetJobRequest(name=name)
        return self._retrying(lambda: self._stub.GetJob(
            request, timeout=self._timeout(timeout), metadata=self._metadata))

    def list_jobs_page(self, *, parent: str = "", page_size: int = 50, page_token: str = "",
                       filter: str = "", timeout: float | None = None,
                       ) -> job_pb2.ListJobsResponse:
        request = job_pb2.ListJobsRequest(parent=parent, page_size=page_size,
                                          page_token=page_token, filter=filter)
        return self._retrying(lambda: self._stub.ListJobs(
            request, timeout=self._timeout(timeout), metadata=self._metadata))

    def list_jobs(self, *, parent: str = "", state: str | None = None, page_size: int = 50,
                  timeout: float | None = None) -> Iterator[job_pb2.Job]:
        """Every job of the caller's organization, newest first, fetched page by page."""
        filter = f"state={state.upper()}" if state else ""
        token = ""
        while True:
            page = self.list_jobs_page(parent=parent, page_size=page_size, page_token=token,
                                       filter=filter, timeout=timeout)
            yield from page.jobs
            token = page.next_page_token
            if not token:
                return

    def cancel_job(self, name: str, *, reason: str = "",
                   timeout: float | None = None) -> job_pb2.Job:
        request = job_pb2.CancelJobRequest(name=name, reason=reason)
        try:
            return self._stub.CancelJob(request, timeout=self._timeout(timeout),
                                        metadata=self._metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def estimate_job(self, spec: job_pb2.JobSpec, *,
                     timeout: float | None = None) -> list[job_pb2.EstimateOption]:
        request = job_pb2.EstimateJobRequest(job_spec=spec)
        response = self._retrying(lambda: self._stub.EstimateJob(
            request, timeout=self._timeout(timeout), metadata=self._metadata))
        return list(response.options)

    def watch_job(self, name: str, *, after_event_id: int = 0,
                  stream_timeout: float = WATCH_STREAM_TIMEOUT) -> Iterator[job_pb2.JobEvent]:
        """State changes and metrics of a job, until it is final.

        Each connection has a deadline of `stream_timeout`; when it passes, or the
        connection drops, the watch reconnects and resumes after the last event delivered.
        """
        last_id = after_event_id
        failures = 0
        while True:
            call = self._stub.WatchJob(
                job_pb2.WatchJobRequest(name=name, after_event_id=last_id),
                timeout=stream_timeout, metadata=self._metadata)
            try:
                for event in call:
                    last_id, failures = max(last_id, event.id), 0
                    yield event
                return
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue  # the server is alive; just a quiet job
                failures += 1
                if code != grpc.StatusCode.UNAVAILABLE or failures > WATCH_MAX_RECONNECTS:
                    raise from_rpc_error(exc) from None
                time.sleep(_backoff(failures - 1))
            finally:
                call.cancel()  # no-op when finished; frees the stream if the caller stops


def _backoff(attempt: int) -> float:
    return min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * (2 ** attempt))


def is_final(job: job_pb2.Job) -> bool:
    return job.state in FINAL_STATES
