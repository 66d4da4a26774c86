"""What the two clients' server streams share: when a dropped WatchJob or StreamJobLogs
stream is opened again, and how a downloaded artifact is checked.

A watch reconnects after the stream's deadline at once (the job was quiet), after
UNAVAILABLE with backoff (up to WATCH_MAX_RECONNECTS in a row without a new event), and
after a server's RetryInfo delay (it is turning calls away) for up to `busy_patience`
seconds without a new event. A log stream reconnects the same way at the last offset.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO

import grpc

from dojo.errors import DojoError, status_code
from dojo.retrying import Budget, retry_delay
from dojo.transport import tls_failure
from dojo.v1 import artifact_pb2, job_pb2

WATCH_STREAM_TIMEOUT = 300.0  # deadline of one WatchJob connection; the watch reconnects
WATCH_MAX_RECONNECTS = 5  # consecutive UNAVAILABLE reconnects without a new event
WATCH_BUSY_PATIENCE = 600.0  # seconds a watch waits, without a new event, on a busy server
LOG_STREAM_TIMEOUT = 300.0  # deadline of one StreamJobLogs connection; following reconnects
LOG_MAX_RECONNECTS = 5  # consecutive UNAVAILABLE reconnects without new bytes
DOWNLOAD_TIMEOUT = 3600.0  # deadline of one download stream unless `timeout` is given

FINAL_STATES = frozenset({job_pb2.SUCCEEDED, job_pb2.FAILED, job_pb2.CANCELLED})


def is_final(job: job_pb2.Job) -> bool:
    return job.state in FINAL_STATES


class WatchReconnects:
    """The reconnect decisions of one watch: `delivered` after each event, `delay` after
    the stream failed (seconds to wait before opening it again, or None: raise)."""

    def __init__(self, busy_patience: float) -> None:
        self.patience = busy_patience
        self.failures = 0
        self.busy = Budget(busy_patience)

    def delivered(self) -> None:
        self.failures = 0
        self.busy = Budget(self.patience)

    def delay(self, exc: grpc.RpcError) -> float | None:
        code = status_code(exc)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return 0.0  # the server is alive; just a quiet job
        delay = retry_delay(exc, self.failures, tls_failure=tls_failure(exc))
        if code == grpc.StatusCode.UNAVAILABLE:
            self.failures += 1
            return None if self.failures > WATCH_MAX_RECONNECTS else delay
        if delay is not None and self.busy.allows(delay):
            self.busy.spend(delay)  # a busy server's own delay: not a failure
            return delay
        return None


class LogReconnects:
    """The reconnect decisions of one log stream (see WatchReconnects)."""

    def __init__(self, follow: bool) -> None:
        self.follow = follow
        self.failures = 0

    def delivered(self) -> None:
        self.failures = 0

    def delay(self, exc: grpc.RpcError) -> float | None:
        code = status_code(exc)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and self.follow:
            return 0.0  # a quiet job: ask again from where it stopped
        self.failures += 1
        if code != grpc.StatusCode.UNAVAILABLE or self.failures > LOG_MAX_RECONNECTS:
            return None
        return min(0.2 * 2.0 ** (self.failures - 1), 5.0)


class ChecksumError(DojoError):
    """A downloaded artifact's bytes do not match the sha256 its header announced."""


class Receiving:
    """An artifact download in progress: its header (the stream's first message), then
    each chunk written to `out` and hashed; `check` raises ChecksumError on a mismatch."""

    def __init__(self, name: str, first: artifact_pb2.DownloadArtifactResponse) -> None:
        self.name = name
        self.header: artifact_pb2.Artifact = first.header
        self.digest = hashlib.sha256()
        self.received = 0

    def take(self, message: artifact_pb2.DownloadArtifactResponse, out: BinaryIO) -> None:
        out.write(message.chunk)
        self.digest.update(message.chunk)
        self.received += len(message.chunk)

    def check(self) -> artifact_pb2.Artifact:
        header = self.header
        if self.received != header.size_bytes or self.digest.hexdigest() != header.sha256:
            raise ChecksumError(
                f"{self.name}: received {self.received} bytes with sha256 "
                f"{self.digest.hexdigest()}, expected {header.size_bytes} bytes with sha256 "
                f"{header.sha256}"
            )
        return header
