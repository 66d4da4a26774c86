"""What `dojo.AsyncClient` and its mixins, `dojo.AsyncBillingClient` and
`dojo.AsyncOperatorClient` share: config, a grpc.aio channel, the API key,
deadlines and retries — the same policies as the sync clients (dojo.transport,
dojo.retrying), waiting with asyncio.sleep instead of blocking."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, BinaryIO, Self, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from dojo.config import ClientConfig
from dojo.errors import NotFoundError
from dojo.retrying import retrying_async
from dojo.rpcs import Unary
from dojo.service import Reconnects, checked
from dojo.transport import ClientBase, credentials
from dojo.uploads import (
    Metadata,
    Progress,
    UploadKind,
    resumable_upload_async,
    upload_deadline,
)

M = TypeVar("M", bound=Message)
St = TypeVar("St", bound=Message)
T = TypeVar("T")


class AsyncServiceClient(ClientBase[grpc.aio.Channel]):
    """`await self._call(unary, timeout)` for unary RPCs; streams through
    `_stub_of(StubClass)` with `_metadata`, failures mapped with `_error`."""

    def _open(self, config: ClientConfig) -> grpc.aio.Channel:
        # opened by the constructor: make the client inside the event loop that uses it
        return open_aio_channel(config)

    async def close(self) -> None:
        if self._own_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _call(self, unary: Unary[M], timeout: float | None) -> M:
        """The unary call with the deadline and the API key; a read is retried while
        waiting helps, an action sent once. Failures raise DojoErrors."""
        rpc = getattr(self._stub_of(unary.service), unary.method)
        deadline = self._timeout(timeout)

        async def send() -> M:
            answer = await rpc(unary.request, timeout=deadline, metadata=self._metadata)
            return checked(answer, unary.reply)

        if unary.read:
            return await retrying_async(send, self.config.retry_wait, self._error)
        try:
            return await send()
        except grpc.RpcError as exc:
            raise self._error(exc) from None

    async def _paged(
        self,
        page: Callable[[str], Unary[M]],
        items: Callable[[M], tuple[Iterable[T], str]],
        timeout: float | None,
    ) -> AsyncIterator[T]:
        """`dojo.service.ServiceClient._paged`, awaiting each page."""
        token = ""
        while True:
            found, token = items(await self._call(page(token), timeout))
            for item in found:
                yield item
            if not token:
                return

    async def _reconnecting(
        self, open_stream: Callable[[], Any], reconnects: Reconnects, seen: Callable[[Any], None]
    ) -> AsyncIterator[Any]:
        """`dojo.service.ServiceClient._reconnecting` for grpc.aio streams."""
        while True:
            call = open_stream()
            try:
                async for item in call:
                    seen(item)
                    reconnects.delivered()
                    yield item
                return
            except grpc.RpcError as exc:
                delay = reconnects.delay(exc)
                if delay is None:
                    raise self._error(exc) from None
                await asyncio.sleep(delay)
            finally:
                call.cancel()  # no-op when finished; frees the stream if the caller stops

    async def _upload(
        self,
        kind: UploadKind[St, M],
        meta: Metadata,
        path: str | os.PathLike[str],
        timeout: float | None,
        on_progress: Progress | None,
    ) -> M:
        """`dojo.service.ServiceClient._upload` on the event loop (file reads stay
        synchronous: a chunk is at most 1 MiB, read between sends)."""
        deadline = upload_deadline(timeout, self.config.timeout, meta.size)

        async def send(f: BinaryIO, offset: int) -> M:
            rpc = getattr(self._stub_of(kind.service), kind.method)
            answer = await rpc(
                kind.messages(meta, f, offset, on_progress),
                timeout=deadline,
                metadata=self._metadata,
            )
            return checked(answer, kind.reply)

        async def status() -> St | None:
            try:
                return await self._call(kind.status(meta.parent, meta.upload_id), None)
            except NotFoundError:
                return None

        async def finished(done: St) -> M:
            return await self._call(kind.finished(done), None)

        # St is an UploadStatus message: a Status, which a TypeVar bound cannot also say
        return await resumable_upload_async(  # type: ignore[type-var]
            path,
            meta.size,
            status=status,
            finished=finished,
            send=send,
            error=self._error,
            on_progress=on_progress,
        )


def open_aio_channel(config: ClientConfig) -> grpc.aio.Channel:
    """`dojo.service.open_channel` for asyncio: the same credentials and checks."""
    creds = credentials(config)
    if creds is None:
        return grpc.aio.insecure_channel(config.server)
    return grpc.aio.secure_channel(config.server, creds)
