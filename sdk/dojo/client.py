"""Typed client for Dojo Cloud's JobService and AuditService.

Every call carries a deadline (the config's timeout unless given) and the API key. Failures
raise `dojo.errors.DojoError` subclasses. CreateJob carries a request id, so the client can
retry it on UNAVAILABLE without making a second job; WatchJob reconnects after a dropped
stream and resumes after the last event it delivered.

The channel is TLS when the config asks for it (DOJO_TLS, DOJO_TLS_CA or a grpcs:// server),
verified against the system roots or the given CA bundle. A plain-text channel carries an
API key only to a loopback server unless DOJO_INSECURE allows it (`ConfigError` otherwise).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from types import TracebackType
from typing import Protocol, Self, TypeVar

import grpc
from google.protobuf.message import Message

from dojo.artifacts import ArtifactMethods
from dojo.config import ClientConfig, ConfigError
from dojo.datasets import DatasetMethods
from dojo.errors import DojoError, from_rpc_error
from dojo.logs import LogMethods
from dojo.models import ModelMethods
from dojo.retrying import RETRY_ATTEMPTS, Budget, retry_delay
from dojo.v1 import audit_pb2, audit_pb2_grpc, job_pb2, job_pb2_grpc
from dojo.webhook_methods import WebhookMethods

T = TypeVar("T")
M = TypeVar("M", bound=Message)
Q = TypeVar("Q", bound=Message)
Q_contra = TypeVar("Q_contra", bound=Message, contravariant=True)

WATCH_STREAM_TIMEOUT = 300.0  # deadline of one WatchJob connection; the watch reconnects
WATCH_MAX_RECONNECTS = 5  # consecutive UNAVAILABLE reconnects without a new event
WATCH_BUSY_PATIENCE = 600.0  # seconds a watch waits, without a new event, on a busy server

FINAL_STATES = frozenset({job_pb2.SUCCEEDED, job_pb2.FAILED, job_pb2.CANCELLED})


class UnaryRpc(Protocol[Q_contra]):
    """A unary method of a generated stub, as the clients call it. grpc ships no types, so
    the stubs' methods are untyped here: `_read` and `_act` take the reply class, check the
    answer against it and so return it typed."""

    def __call__(
        self, request: Q_contra, *, timeout: float, metadata: tuple[tuple[str, str], ...]
    ) -> object: ...


class ServiceClient:
    """What every service client shares: config, channel, API key, deadlines, retries.

    Subclasses build their stub from `self._channel` (a cached `_stub` property) and call
    unary RPCs through `_read` (idempotent: retried on UNAVAILABLE) or `_act` (sent once).
    """

    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        channel: grpc.Channel | None = None,
        tls: bool | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        insecure: bool | None = None,
    ) -> None:
        """`config` (default: the environment) with `tls`, `tls_ca` and `insecure` laid
        over it when given. With `channel`, the caller owns the transport and its security."""
        given = {
            k: v
            for k, v in (("tls", tls), ("tls_ca", tls_ca), ("insecure", insecure))
            if v is not None
        }
        if config is None:
            config = ClientConfig.from_env(None, **given)
        elif given:
            config = replace(config, **given)  # type: ignore[arg-type]
        self.config = config
        self._own_channel = channel is None
        self._channel = channel or open_channel(config)
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

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _timeout(self, timeout: float | None) -> float:
        return self.config.timeout if timeout is None else timeout

    def _read(self, rpc: UnaryRpc[Q], request: Q, reply: type[M], timeout: float | None) -> M:
        """An idempotent unary call with the deadline and the API key, retried on
        UNAVAILABLE; the answer is checked to be a `reply`."""
        return self._retrying(lambda: self._send(rpc, request, reply, timeout))

    def _act(self, rpc: UnaryRpc[Q], request: Q, reply: type[M], timeout: float | None) -> M:
        """A unary call that must not be repeated blindly (it acts), sent once."""
        return self._once(lambda: self._send(rpc, request, reply, timeout))

    def _send(self, rpc: UnaryRpc[Q], request: Q, reply: type[M], timeout: float | None) -> M:
        answer = rpc(request, timeout=self._timeout(timeout), metadata=self._metadata)
        if not isinstance(answer, reply):
            raise TypeError(f"expected a {reply.__name__}, got {type(answer).__name__}")
        return answer

    def _once(self, call: Callable[[], T]) -> T:
        """Runs a call that must not be repeated blindly; errors become DojoErrors."""
        try:
            return call()
        except grpc.RpcError as exc:
            raise self._error(exc) from None

    def _retrying(self, call: Callable[[], T]) -> T:
        """Runs an idempotent call, trying it again while the answer says waiting helps and
        the config's retry budget lasts (see dojo.retrying)."""
        budget = Budget(self.config.retry_wait)
        for attempt in range(RETRY_ATTEMPTS):
            try:
                return call()
            except grpc.RpcError as exc:
                delay = retry_delay(exc, attempt, tls_failure=_tls_failure(_details(exc)))
                if delay is None or attempt == RETRY_ATTEMPTS - 1 or not budget.allows(delay):
                    raise self._error(exc) from None
                budget.spend(delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _error(self, exc: grpc.RpcError) -> DojoError:
        """The typed error, with a hint naming the setting to fix when the transport failed."""
        err = from_rpc_error(exc)
        unreachable = _unreachable(self.config, _details(exc))
        if err.code == grpc.StatusCode.UNAVAILABLE and unreachable:
            err.message = unreachable  # one line, not the transport's text
            err.args = (err.message,)
            return err
        hint = (
            _transport_hint(self.config, _details(exc))
            if (err.code == grpc.StatusCode.UNAVAILABLE)
            else ""
        )
        if hint:
            err.message = f"{err.message}\n  {hint}"
            err.args = (err.message,)
        return err


class Client(
    ArtifactMethods, DatasetMethods, LogMethods, ModelMethods, WebhookMethods, ServiceClient
):
    """`with Client.from_env() as client: client.create_job(spec)`; DatasetService's
    methods come from dojo.datasets, ModelService's from dojo.models, the job log's from
    dojo.logs, ArtifactService's from dojo.artifacts, WebhookService's from dojo.webhook_methods."""

    @cached_property
    def _stub(self) -> job_pb2_grpc.JobServiceStub:
        return job_pb2_grpc.JobServiceStub(self._channel)

    # --- RPCs ---------------------------------------------------------------------------

    def create_job(
        self,
        spec: job_pb2.JobSpec,
        *,
        parent: str = "",
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> job_pb2.Job:
        """Submits a job. Retried on UNAVAILABLE with the same request id: one job results."""
        request = job_pb2.CreateJobRequest(
            parent=parent, job_spec=spec, request_id=request_id or str(uuid.uuid4())
        )
        return self._read(self._stub.CreateJob, request, job_pb2.Job, timeout)

    def get_job(self, name: str, *, timeout: float | None = None) -> job_pb2.Job:
        """`name` is `organizations/{org}/jobs/{job}` or the bare job id."""
        request = job_pb2.GetJobRequest(name=name)
        return self._read(self._stub.GetJob, request, job_pb2.Job, timeout)

    def list_jobs_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        filter: str = "",
        timeout: float | None = None,
    ) -> job_pb2.ListJobsResponse:
        request = job_pb2.ListJobsRequest(
            parent=parent, page_size=page_size, page_token=page_token, filter=filter
        )
        return self._read(self._stub.ListJobs, request, job_pb2.ListJobsResponse, timeout)

    def list_jobs(
        self,
        *,
        parent: str = "",
        state: str | None = None,
        page_size: int = 50,
        timeout: float | None = None,
    ) -> Iterator[job_pb2.Job]:
        """Every job of the caller's organization, newest first, fetched page by page."""
        filter = f"state={state.upper()}" if state else ""
        token = ""
        while True:
            page = self.list_jobs_page(
                parent=parent, page_size=page_size, page_token=token, filter=filter, timeout=timeout
            )
            yield from page.jobs
            token = page.next_page_token
            if not token:
                return

    def cancel_job(
        self, name: str, *, reason: str = "", timeout: float | None = None
    ) -> job_pb2.Job:
        request = job_pb2.CancelJobRequest(name=name, reason=reason)
        return self._act(self._stub.CancelJob, request, job_pb2.Job, timeout)

    def estimate_job(
        self, spec: job_pb2.JobSpec, *, timeout: float | None = None
    ) -> list[job_pb2.EstimateOption]:
        request = job_pb2.EstimateJobRequest(job_spec=spec)
        response = self._read(self._stub.EstimateJob, request, job_pb2.EstimateJobResponse, timeout)
        return list(response.options)

    @cached_property
    def _audit_stub(self) -> audit_pb2_grpc.AuditServiceStub:
        return audit_pb2_grpc.AuditServiceStub(self._channel)

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
        request = audit_pb2.ListAuditEventsRequest(
            parent=parent, page_size=page_size, page_token=page_token, action=action, actor=actor
        )
        if since is not None:
            request.since.FromDatetime(since)
        if until is not None:
            request.until.FromDatetime(until)
        return self._read(
            self._audit_stub.ListAuditEvents,
            request,
            audit_pb2.ListAuditEventsResponse,
            timeout,
        )

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
        token = ""
        while True:
            page = self.list_audit_events_page(
                parent=parent,
                page_size=page_size,
                page_token=token,
                action=action,
                actor=actor,
                since=since,
                until=until,
                timeout=timeout,
            )
            yield from page.events
            token = page.next_page_token
            if not token:
                return

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
        A server that turns the stream away with RetryInfo (its stream cap is full) is asked
        again after its delay, for up to `busy_patience` seconds without a new event.
        """
        last_id = after_event_id
        failures = 0
        busy = Budget(busy_patience)
        while True:
            call = self._stub.WatchJob(
                job_pb2.WatchJobRequest(name=name, after_event_id=last_id),
                timeout=stream_timeout,
                metadata=self._metadata,
            )
            try:
                for event in call:
                    last_id, failures = max(last_id, event.id), 0
                    busy = Budget(busy_patience)
                    yield event
                return
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue  # the server is alive; just a quiet job
                delay = retry_delay(exc, failures, tls_failure=_tls_failure(_details(exc)))
                if code == grpc.StatusCode.UNAVAILABLE:
                    failures += 1
                    if failures > WATCH_MAX_RECONNECTS:
                        delay = None
                elif delay is not None and busy.allows(delay):
                    busy.spend(delay)  # a busy server's own delay: not a failure
                else:
                    delay = None
                if delay is None:
                    raise self._error(exc) from None
                time.sleep(delay)
            finally:
                call.cancel()  # no-op when finished; frees the stream if the caller stops


def open_channel(config: ClientConfig) -> grpc.Channel:
    """A channel to `config.server`: TLS when the config asks for it, verified against
    `config.tls_ca` or the system roots; otherwise plain text, which `check_transport`
    refuses for an API key bound to a remote host."""
    if not config.tls:
        config.check_transport()
        return grpc.insecure_channel(config.server)
    roots = _read_ca(config.tls_ca) if config.tls_ca else None
    return grpc.secure_channel(config.server, grpc.ssl_channel_credentials(roots))


def _read_ca(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(
            f"DOJO_TLS_CA: cannot read the CA bundle {path}: {exc.strerror or exc}"
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(
            f"DOJO_TLS_CA: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
    return data


def _details(exc: grpc.RpcError) -> str:
    return (exc.details() if isinstance(exc, grpc.Call) else None) or ""


def _tls_failure(details: str) -> bool:
    """A TLS handshake that failed on certificates or protocol, not on the network."""
    return any(
        mark in details
        for mark in (
            "CERTIFICATE_VERIFY_FAILED",
            "Hostname Verification",
            "WRONG_VERSION_NUMBER",
            "andshake failed",
            "security handshaker",
        )
    )


# The transport's words for "nothing answered at that address", and how we say each.
_UNREACHABLE = (
    ("Connection refused", "connection refused"),
    ("DNS resolution failed", "its host name does not resolve"),
    ("No route to host", "no route to the host"),
    ("Network is unreachable", "the network is unreachable"),
    ("Timeout occurred", "the connection timed out"),
    ("Connection timed out", "the connection timed out"),
    ("failed to connect to all addresses", "nothing answered"),
)


def _unreachable(config: ClientConfig, details: str) -> str:
    """A one-line message for a server that could not be reached at all ("" otherwise)."""
    if _tls_failure(details) or "Socket closed" in details:  # reached, but TLS mismatched
        return ""
    why = next((ours for theirs, ours in _UNREACHABLE if theirs in details), "")
    if not why:
        return ""
    return (
        f"cannot reach the Dojo Cloud API at {config.server} ({why}); is it running, "
        "and is DOJO_SERVER (--server) right?"
    )


def _transport_hint(config: ClientConfig, details: str) -> str:
    if "CERTIFICATE_VERIFY_FAILED" in details:
        if config.tls_ca:
            return (
                f"TLS: the server's certificate is not signed by the CA bundle "
                f"DOJO_TLS_CA={config.tls_ca}"
            )
        return (
            "TLS: the server's certificate is not signed by a CA the system trusts; "
            "set DOJO_TLS_CA (--tls-ca) to the CA bundle that signed it"
        )
    if "Hostname Verification" in details:
        return (
            f"TLS: the server's certificate does not name the host of DOJO_SERVER ({config.server})"
        )
    if config.tls and _tls_failure(details):
        return (
            "TLS: the handshake failed; is the server serving TLS? For a plain-text "
            "server unset DOJO_TLS and DOJO_TLS_CA and use a host:port DOJO_SERVER"
        )
    if not config.tls and "Socket closed" in details:
        return "if the server requires TLS, set DOJO_TLS=1 (--tls) or DOJO_TLS_CA (--tls-ca)"
    return ""


def is_final(job: job_pb2.Job) -> bool:
    return job.state in FINAL_STATES
