"""What every synchronous service client shares: config, channel, API key, deadlines,
retries (dojo.Client, dojo.billing.BillingClient, dojo.operator.OperatorClient and the
mixins of Client's services).

Every call carries a deadline (the config's timeout unless given) and the API key. Failures
raise `dojo.errors.DojoError` subclasses. The channel is TLS when the config asks for it
(DOJO_TLS, DOJO_TLS_CA or a grpcs:// server), verified against the system roots or the given
CA bundle. A plain-text channel carries an API key only to a loopback server unless
DOJO_INSECURE allows it (`ConfigError` otherwise).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import grpc
from google.protobuf.message import Message

from dojo.config import ClientConfig
from dojo.errors import NotFoundError
from dojo.retrying import retrying
from dojo.rpcs import Unary
from dojo.transport import ClientBase, credentials
from dojo.uploads import Metadata, Progress, UploadKind, resumable_upload, upload_deadline

T = TypeVar("T")
M = TypeVar("M", bound=Message)
Q = TypeVar("Q", bound=Message)
Q_contra = TypeVar("Q_contra", bound=Message, contravariant=True)
St = TypeVar("St", bound=Message)


class Reconnects(Protocol):
    """A stream's reconnect decisions (dojo.streams.WatchReconnects, LogReconnects)."""

    def delivered(self) -> None: ...
    def delay(self, exc: grpc.RpcError) -> float | None: ...


class UnaryRpc(Protocol[Q_contra]):
    """A unary method of a generated stub, as the clients call it. grpc ships no types, so
    the stubs' methods are untyped here: `_read` and `_act` take the reply class, check the
    answer against it and so return it typed."""

    def __call__(
        self, request: Q_contra, *, timeout: float, metadata: tuple[tuple[str, str], ...]
    ) -> object: ...


def checked(answer: object, reply: type[M]) -> M:
    """The answer, checked to be a `reply` (the stubs are untyped)."""
    if not isinstance(answer, reply):
        raise TypeError(f"expected a {reply.__name__}, got {type(answer).__name__}")
    return answer


class ServiceClient(ClientBase[grpc.Channel]):
    """Subclasses and mixins call unary RPCs through `_call` (a dojo.rpcs.Unary) or, for
    stubs of their own, `_read` (idempotent: retried) and `_act` (sent once); streams
    through `_stub_of(StubClass)` with `_metadata`, mapping failures with `_error`."""

    def _open(self, config: ClientConfig) -> grpc.Channel:
        return open_channel(config)

    def close(self) -> None:
        if self._own_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, unary: Unary[M], timeout: float | None) -> M:
        rpc = getattr(self._stub_of(unary.service), unary.method)
        send = self._read if unary.read else self._act
        return send(rpc, unary.request, unary.reply, timeout)

    def _paged(
        self,
        page: Callable[[str], Unary[M]],
        items: Callable[[M], tuple[Iterable[T], str]],
        timeout: float | None,
    ) -> Iterator[T]:
        """Every item of a paged list: `page(token)` is the request for a page, `items`
        its items and the next page's token ("" after the last)."""
        token = ""
        while True:
            found, token = items(self._call(page(token), timeout))
            yield from found
            if not token:
                return

    def _reconnecting(
        self, open_stream: Callable[[], Any], reconnects: Reconnects, seen: Callable[[Any], None]
    ) -> Iterator[Any]:
        """A server stream opened again (`open_stream` resumes after what `seen` noted)
        while `reconnects` says waiting helps; ends when the server ends it."""
        while True:
            call = open_stream()
            try:
                for item in call:
                    seen(item)
                    reconnects.delivered()
                    yield item
                return
            except grpc.RpcError as exc:
                delay = reconnects.delay(exc)
                if delay is None:
                    raise self._error(exc) from None
                time.sleep(delay)
            finally:
                call.cancel()  # no-op when finished; frees the stream if the caller stops

    def _upload(
        self,
        kind: UploadKind[St, M],
        meta: Metadata,
        path: str | os.PathLike[str],
        timeout: float | None,
        on_progress: Progress | None,
    ) -> M:
        """The resumable upload of `path` (dojo.uploads) as `kind` says."""
        deadline = upload_deadline(timeout, self.config.timeout, meta.size)

        def send(f: Any, offset: int) -> M:
            rpc = getattr(self._stub_of(kind.service), kind.method)
            answer = rpc(
                kind.messages(meta, f, offset, on_progress),
                timeout=deadline,
                metadata=self._metadata,
            )
            return checked(answer, kind.reply)

        def status() -> St | None:
            try:
                return self._call(kind.status(meta.parent, meta.upload_id), None)
            except NotFoundError:
                return None

        return resumable_upload(
            path,
            meta.size,
            status=status,  # type: ignore[arg-type]  # UploadStatus messages are Status
            finished=lambda done: self._call(kind.finished(done), None),
            send=send,
            error=self._error,
            on_progress=on_progress,
        )

    def _read(self, rpc: UnaryRpc[Q], request: Q, reply: type[M], timeout: float | None) -> M:
        """An idempotent unary call with the deadline and the API key, retried while waiting
        helps (dojo.retrying); the answer is checked to be a `reply`."""
        return retrying(
            lambda: self._send(rpc, request, reply, timeout), self.config.retry_wait, self._error
        )

    def _act(self, rpc: UnaryRpc[Q], request: Q, reply: type[M], timeout: float | None) -> M:
        """A unary call that must not be repeated blindly (it acts), sent once."""
        return self._once(lambda: self._send(rpc, request, reply, timeout))

    def _send(self, rpc: UnaryRpc[Q], request: Q, reply: type[M], timeout: float | None) -> M:
        answer = rpc(request, timeout=self._timeout(timeout), metadata=self._metadata)
        return checked(answer, reply)

    def _once(self, call: Callable[[], T]) -> T:
        """Runs a call that must not be repeated blindly; errors become DojoErrors."""
        try:
            return call()
        except grpc.RpcError as exc:
            raise self._error(exc) from None


def open_channel(config: ClientConfig) -> grpc.Channel:
    """A channel to `config.server`: TLS when the config asks for it, verified against
    `config.tls_ca` or the system roots; otherwise plain text, which `check_transport`
    refuses for an API key bound to a remote host."""
    creds = credentials(config)
    if creds is None:
        return grpc.insecure_channel(config.server)
    return grpc.secure_channel(config.server, creds)
