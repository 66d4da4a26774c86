"""The resumable, chunked upload that datasets and models share.

The upload id is derived from the parent, the resource id, the file's size and sha256, so
running the same upload again resumes it from what the server committed (GetUploadStatus),
and a dropped connection resumes the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from dojo.errors import status_code
from dojo.rpcs import Unary

CHUNK_BYTES = 1023 * 1024  # under 1 MiB with the message's framing: fits the server's limit
UPLOAD_RETRIES = 5
Progress = Callable[[int, int], None]  # (bytes committed or sent, total)
T = TypeVar("T")


class Status(Protocol):
    @property
    def complete(self) -> bool: ...
    @property
    def committed_offset(self) -> int: ...


S = TypeVar("S", bound=Status)
St = TypeVar("St", bound=Message)
R = TypeVar("R", bound=Message)


class Metadata(Protocol):
    """An upload's first message (UploadMetadata, ModelUploadMetadata)."""

    @property
    def parent(self) -> str: ...
    @property
    def upload_id(self) -> str: ...
    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class UploadKind(Generic[St, R]):
    """What differs between the resumable uploads (datasets, models), for both clients:
    the client-streaming RPC and its messages, the status read, the finished resource."""

    service: type  # generated stub class
    method: str  # its client-streaming method, e.g. "CreateDataset"
    messages: Callable[[Any, BinaryIO, int, Progress | None], Iterator[Message]]
    status: Callable[[str, str], Unary[St]]  # (parent, upload_id)
    finished: Callable[[St], Unary[R]]  # the resource a completed upload made
    reply: type[R]


def file_digest(path: str | os.PathLike[str]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def derived_upload_id(parent: str, resource_id: str, size: int, sha256: str) -> str:
    key = f"{parent}\n{resource_id}\n{size}\n{sha256}".encode()
    return "sdk-" + hashlib.sha256(key).hexdigest()[:40]


def upload_deadline(timeout: float | None, config_timeout: float, size: int) -> float:
    """The deadline of one upload stream: `timeout`, else the config's plus a second a MiB."""
    return timeout or (config_timeout + size / 2**20)


def upload_retry_delay(exc: grpc.RpcError, attempt: int) -> float | None:
    """Seconds before resuming after the `attempt`-th failed stream, or None: final. Only a
    stream the server dropped (UNAVAILABLE) is resumed."""
    if status_code(exc) != grpc.StatusCode.UNAVAILABLE or attempt == UPLOAD_RETRIES - 1:
        return None
    return min(2.0, 0.2 * 2.0**attempt)


def resumable_upload(
    path: str | os.PathLike[str],
    size: int,
    *,
    status: Callable[[], S | None],
    finished: Callable[[S], T],
    send: Callable[[BinaryIO, int], T],
    error: Callable[[grpc.RpcError], Exception],
    on_progress: Progress | None = None,
) -> T:
    """Asks where the upload stands, then sends the file from there: `finished` when this
    very upload already completed, else `send(file at offset, offset)`. A stream the
    server dropped (UNAVAILABLE) is resumed; any other error is raised as `error` maps it."""
    for attempt in range(UPLOAD_RETRIES):
        current = status()
        if current is not None and current.complete:
            if on_progress:
                on_progress(size, size)
            return finished(current)
        offset = current.committed_offset if current is not None else 0
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return send(f, offset)
        except grpc.RpcError as exc:
            delay = upload_retry_delay(exc, attempt)
            if delay is None:
                raise error(exc) from None
            time.sleep(delay)
    raise AssertionError("unreachable")


async def resumable_upload_async(
    path: str | os.PathLike[str],
    size: int,
    *,
    status: Callable[[], Awaitable[S | None]],
    finished: Callable[[S], Awaitable[T]],
    send: Callable[[BinaryIO, int], Awaitable[T]],
    error: Callable[[grpc.RpcError], Exception],
    on_progress: Progress | None = None,
) -> T:
    """`resumable_upload` for coroutines: the same steps and the same resume decisions."""
    for attempt in range(UPLOAD_RETRIES):
        current = await status()
        if current is not None and current.complete:
            if on_progress:
                on_progress(size, size)
            return await finished(current)
        offset = current.committed_offset if current is not None else 0
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return await send(f, offset)
        except grpc.RpcError as exc:
            delay = upload_retry_delay(exc, attempt)
            if delay is None:
                raise error(exc) from None
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def chunks(f: BinaryIO, offset: int, size: int, on_progress: Progress | None) -> Iterator[bytes]:
    """The file's chunks from `offset`, reporting progress as each is handed to the stream."""
    sent = offset
    if on_progress:
        on_progress(sent, size)
    while chunk := f.read(CHUNK_BYTES):
        yield chunk
        sent += len(chunk)
        if on_progress:
            on_progress(sent, size)
