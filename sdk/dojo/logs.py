"""JobService's log method of the typed client (mixed into `dojo.client.Client`).

`stream_job_logs(name, offset=0, follow=True)` yields the job's log as JobLogChunk pieces
(bytes, with the byte offset each starts at and the one to resume at). A dropped connection,
or a stream past its deadline while following a quiet job, reconnects at the last
next_offset delivered: no byte is repeated or lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cached_property

import grpc

from dojo.v1 import job_pb2, job_pb2_grpc

LOG_STREAM_TIMEOUT = 300.0  # deadline of one StreamJobLogs connection; following reconnects
LOG_MAX_RECONNECTS = 5  # consecutive UNAVAILABLE reconnects without new bytes


class LogMethods:
    """Needs what ServiceClient gives: `_channel`, `_metadata`, `_error`."""

    _channel: grpc.Channel
    _metadata: tuple[tuple[str, str], ...]

    @cached_property
    def _logs_stub(self) -> job_pb2_grpc.JobServiceStub:
        return job_pb2_grpc.JobServiceStub(self._channel)

    def stream_job_logs(
        self,
        name: str,
        *,
        offset: int = 0,
        follow: bool = False,
        stream_timeout: float = LOG_STREAM_TIMEOUT,
    ) -> Iterator[job_pb2.JobLogChunk]:
        """The job's log from byte `offset`: up to its end now, or with `follow` until the
        job is final. `name`: organizations/{org}/jobs/{job} or the bare job id."""
        failures = 0
        while True:
            call = self._logs_stub.StreamJobLogs(
                job_pb2.StreamJobLogsRequest(name=name, offset=offset, follow=follow),
                timeout=stream_timeout,
                metadata=self._metadata,
            )
            try:
                for chunk in call:
                    offset, failures = chunk.next_offset, 0
                    yield chunk
                return
            except grpc.RpcError as exc:
                code = exc.code() if isinstance(exc, grpc.Call) else None
                if code == grpc.StatusCode.DEADLINE_EXCEEDED and follow:
                    continue  # a quiet job: ask again from where it stopped
                failures += 1
                if code != grpc.StatusCode.UNAVAILABLE or failures > LOG_MAX_RECONNECTS:
                    raise self._error(exc) from None  # type: ignore[attr-defined]
                time.sleep(min(0.2 * 2 ** (failures - 1), 5.0))
            finally:
                call.cancel()

    def read_job_log(self, name: str, *, offset: int = 0) -> tuple[bytes, int]:
        """The job's whole log from `offset` as it is now, and the offset to resume at."""
        parts, end = [], offset
        for chunk in self.stream_job_logs(name, offset=offset):
            parts.append(chunk.data)
            end = chunk.next_offset
        return b"".join(parts), end
