"""The worker's side of a job's durable log: lines from the job process (over its pipe) and
the worker's own (checkpoint saved, why the job stopped or failed) are scrubbed, formatted
and appended to the job's log in storage in chunks: about once a second while the job
runs, and before the segment's end is recorded, so a reader that sees the job final has
every line. Storage trouble never fails the job: the lines stay buffered for the next try."""

from __future__ import annotations

import logging
import sys
import sysconfig
import time
from collections import deque
from pathlib import Path

from django.conf import settings

from dojocloud.execution import log_lines
from dojocloud.jobs.facade import Failure, append_log

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 1.0
FLUSH_BYTES = 64 * 1024
TAIL_LINES = 20  # the last lines a failure carries


def server_roots() -> list[tuple[str, str]]:
    """This machine's folders that a customer must not see, and what is shown instead."""
    roots = [
        (str(Path(settings.DATA_DIR).resolve()), "<data>"),
        (str(settings.DATA_DIR), "<data>"),
        (str(Path(settings.REPO_DIR).resolve()), "<platform>"),
        (sys.prefix, "<python>"),
        (sys.base_prefix, "<python>"),
        (str(Path.home()), "~"),
    ]
    paths = sysconfig.get_paths()
    roots += [(paths["purelib"], "<site-packages>"), (paths["platlib"], "<site-packages>")]
    return roots + [(paths["stdlib"], "<python>")]


class JobLogWriter:
    def __init__(self, job_id: str, *, flush_every_s: float = FLUSH_EVERY_S) -> None:
        self.job_id = job_id
        self.flush_every_s = flush_every_s
        self._roots = server_roots()
        self._buffer: list[str] = []
        self._size = 0
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._last_flush = time.monotonic()

    def line(self, at: float, level: str, text: str) -> None:
        """A line of the job's log (`at`: when it happened, epoch seconds)."""
        formatted = log_lines.format_line(at, level, log_lines.scrub(text, self._roots))
        self._buffer.append(formatted + "\n")
        self._size += len(formatted) + 1
        self._tail.append(formatted)
        if self._size >= FLUSH_BYTES or time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def say(self, text: str, level: str = "INFO") -> None:
        """A line of the worker's own, now."""
        self.line(time.time(), level, text)

    def failed(self, failure: Failure) -> Failure:
        """Logs the failure and returns it with its step and the log's last lines."""
        message = log_lines.scrub(failure.message, self._roots)
        where = f" at step {failure.step}" if failure.step is not None else ""
        self.say(f"job failed{where}: {failure.reason}: {message}", "ERROR")
        self.flush()
        return Failure(failure.reason, message, failure.detail, failure.step, self.tail())

    def tail(self) -> tuple[str, ...]:
        return tuple(self._tail)

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        data = "".join(self._buffer).encode()
        try:
            append_log(self.job_id, data)
        except Exception:  # storage or database trouble: keep the lines, try again later
            log.warning("job %s: could not append its log", self.job_id, exc_info=True)
            return
        self._buffer, self._size = [], 0
