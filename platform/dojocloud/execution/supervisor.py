"""The worker's side of a job process: start it, relay its steps, stop it, classify its end.

Job processes are forked by multiprocessing's fork server, started once per worker with the
runtime (torch, the training engine) imported: each job gets a fresh, isolated address
space (its own rlimit, threads and crash) at the cost of a fork, not of a torch import.
The fork server is a process of its own that never ran a thread pool, so forking it is safe
where forking the worker (threads, database connections, a broker socket) would not be.

Stopping is graded: the stop cell asks the job to stop at its next step boundary (with a
checkpoint for a preemption, without for a cancel); a job still running `grace_s` later
gets SIGTERM, and SIGKILL `TERM_GRACE_S` after that, so even a job inside one long step is
gone within grace_s + TERM_GRACE_S of the request.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.forkserver
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dojo_runtime.config import StepMetrics
from dojocloud.execution import jobproc
from dojocloud.execution.jobproc import SegmentOrder

log = logging.getLogger(__name__)
_ctx = multiprocessing.get_context("forkserver")
# What a job process would otherwise import itself, seconds each (the built-in digits set
# comes through scikit-learn).
PRELOAD = ["dojocloud.execution.jobproc", "dojo_runtime.training", "sklearn.datasets"]
TERM_GRACE_S = 1.0  # between SIGTERM and SIGKILL
POLL_S = 0.05  # how often the supervisor looks at the pipe, the stop request and the peak
OOM = "OUT_OF_MEMORY"
CRASHED = "PROCESS_CRASHED"
ERROR = "TRAINING_ERROR"
INTERRUPTED = "interrupted"  # a signal the worker did not send (the worker is stopping)
_STEP_FIELDS = tuple(StepMetrics.__dataclass_fields__)
_ctx.set_forkserver_preload(PRELOAD)  # whoever starts the fork server first: it imports these


def start_fork_server() -> None:
    """Starts the fork server now (in the worker's start-up), so that importing the runtime
    does not delay the first job."""
    multiprocessing.forkserver.ensure_running()


@dataclass
class ProcessEnd:
    """How a job process ended."""

    start_step: int
    end_step: int
    start_device_seconds: float
    device_seconds: float
    checkpoint: bytes | None = None
    failure: str | None = None  # OOM, CRASHED, ERROR, INTERRUPTED; None: it ran or stopped
    message: str = ""
    peak_bytes: int = 0
    limit_bytes: int = 0
    signalled: list[str] = field(default_factory=list)  # what the supervisor had to send
    exitcode: int | None = None
    pid: int = 0
    code: str | None = None  # ERROR: the runtime's failure code the process sent
    failed_step: int | None = None  # ERROR: the step it failed at, where known


@dataclass
class _Run:
    order: SegmentOrder
    end: ProcessEnd
    on_step: Callable[[StepMetrics], None]
    on_log: Callable[[float, str, str], None] | None = None
    done: bool = False
    reported_oom: bool = False


def run_job_process(
    order: SegmentOrder,
    *,
    start_step: int,
    on_step: Callable[[StepMetrics], None],
    should_stop: Callable[[], str | None],
    keep_checkpoint: Callable[[str], bool],
    grace_s: float,
    on_log: Callable[[float, str, str], None] | None = None,
) -> ProcessEnd:
    """Runs one segment in a job process until it ends; returns how it ended.
    `should_stop()` names a reason to stop (or None); `keep_checkpoint(reason)` says whether
    that stop checkpoints; `on_log(time, level, text)` gets the job's log lines."""
    stop = _ctx.Value("i", jobproc.RUN, lock=False)
    receiver, sender = _ctx.Pipe(duplex=False)
    proc = _ctx.Process(
        target=jobproc.main, args=(order, sender, stop), name="dojo-job", daemon=True
    )
    proc.start()
    sender.close()  # the job holds the only write end: its exit is our EOF
    end = ProcessEnd(start_step, start_step, 0.0, 0.0, limit_bytes=order.memory_limit_bytes)
    end.pid = proc.pid or 0
    run = _Run(order, end, on_step, on_log)
    stop_at: float | None = None
    term_at: float | None = None
    try:
        while True:
            if receiver.poll(POLL_S):
                try:
                    _handle(run, json.loads(receiver.recv_bytes()), receiver)
                except EOFError:
                    break
            elif not proc.is_alive():
                break
            end.peak_bytes = max(end.peak_bytes, jobproc.vm_peak_bytes(end.pid))
            now = time.monotonic()
            if stop_at is None:
                reason = should_stop()
                if reason is not None:
                    keep = keep_checkpoint(reason)
                    stop.value = jobproc.STOP_KEEP if keep else jobproc.STOP_DISCARD
                    stop_at = now
            elif term_at is None and now - stop_at >= grace_s and proc.is_alive():
                log.info("job process %s: no stop after %.1fs; SIGTERM", end.pid, grace_s)
                end.signalled.append("SIGTERM")
                proc.terminate()
                term_at = now
            elif term_at is not None and now - term_at >= TERM_GRACE_S and proc.is_alive():
                log.warning("job process %s: still alive after SIGTERM; SIGKILL", end.pid)
                end.signalled.append("SIGKILL")
                proc.kill()
                term_at = float("inf")
    finally:
        proc.join(timeout=5)
        if proc.is_alive():  # the supervisor itself is failing: leave nothing behind
            proc.kill()
            proc.join(timeout=5)
        receiver.close()
    end.exitcode = proc.exitcode
    _classify(run)
    return end


def _handle(run: _Run, msg: dict[str, Any], receiver: Any) -> None:
    end, kind = run.end, msg.get("kind")
    if kind == "started":
        end.start_step = end.end_step = int(msg["step"])
        end.start_device_seconds = end.device_seconds = float(msg["device_seconds"])
    elif kind == "step":
        m = StepMetrics(**{k: msg[k] for k in _STEP_FIELDS})
        end.end_step, end.device_seconds = m.step, m.device_seconds
        run.on_step(m)
    elif kind == "done":
        end.end_step, end.device_seconds = int(msg["step"]), float(msg["device_seconds"])
        if int(msg["checkpoint_bytes"]) > 0:
            end.checkpoint = receiver.recv_bytes()
        run.done = True
    elif kind == "oom":
        run.reported_oom = True
        end.peak_bytes = max(end.peak_bytes, int(msg["peak_bytes"]))
        end.message = str(msg.get("error", ""))
    elif kind == "error":
        end.failure, end.message = ERROR, str(msg.get("error", ""))
        end.code = msg.get("code")
        end.failed_step = msg.get("step")
    elif kind == "log" and run.on_log is not None:
        run.on_log(float(msg["time"]), str(msg["level"]), str(msg["text"]))


def _classify(run: _Run) -> None:
    end = run.end
    code = end.exitcode
    near_limit = end.limit_bytes > 0 and end.peak_bytes >= 0.95 * end.limit_bytes
    if end.failure == ERROR and near_limit:
        # An error at the limit is the limit's doing: torch reports some refused allocations
        # as other errors (torch.save's "unexpected pos" when its buffer cannot grow).
        end.failure = OOM
        return
    if end.failure is not None or (run.done and code == 0):
        return
    if run.reported_oom or code == jobproc.EXIT_OOM:
        end.failure = OOM
    elif end.signalled:  # stopped by the supervisor: what it did is billed, nothing more
        end.failure = None
    elif code in (-signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP):
        end.failure = INTERRUPTED
    elif code == -signal.SIGKILL or near_limit:  # the kernel's OOM killer, or a crash at it
        end.failure = OOM
        end.message = end.message or f"job process ended by signal {-(code or 0)}"
    else:
        end.failure = CRASHED
        end.message = end.message or f"job process exited with status {code}"
