"""JobService's log method of the typed client (mixed into `dojo.client.Client`).

`stream_job_logs(name, offset=0, follow=True)` yields the job's log as JobLogChunk pieces
(bytes, with the byte offset each starts at and the one to resume at). A dropped connection,
or a stream past its deadline while following a quiet job, reconnects at the last
next_offset delivered (dojo.streams.LogReconnects): no byte is repeated or lost."""

from __future__ import annotations

from collections.abc import Iterator

from dojo import rpcs
from dojo.service import ServiceClient
from dojo.streams import LOG_MAX_RECONNECTS, LOG_STREAM_TIMEOUT, LogReconnects
from dojo.v1 import job_pb2

__all__ = ["LOG_MAX_RECONNECTS", "LOG_STREAM_TIMEOUT", "LogMethods"]


class LogMethods(ServiceClient):
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
        resume = rpcs.LogResume(name, offset, follow)
        return self._reconnecting(
            lambda: self._stub_of(rpcs.Jobs).StreamJobLogs(
                resume.request(), timeout=stream_timeout, metadata=self._metadata
            ),
            LogReconnects(follow),
            resume.seen,
        )

    def read_job_log(self, name: str, *, offset: int = 0) -> tuple[bytes, int]:
        """The job's whole log from `offset` as it is now, and the offset to resume at."""
        parts, end = [], offset
        for chunk in self.stream_job_logs(name, offset=offset):
            parts.append(chunk.data)
            end = chunk.next_offset
        return b"".join(parts), end
