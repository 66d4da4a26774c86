"""The worker's side of a job's processes: start them, relay their steps, stop them, classify
how they ended.

A job of N ranks runs as a gang of N job processes (one per rank, see `jobproc`) that meet
at a c10d TCPStore this worker hosts for the segment (`rankgroup.host_store`, a free port)
and are supervised together: a rank that dies fails the segment for all of them (the others
are killed at once, never left blocked in a collective); a rank killed from outside, not at
its memory limit, is a lost rank (RANK_LOST) and the job resumes from its checkpoint.
Progress and the checkpoint come from rank 0 only.

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

import dataclasses
import json
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from dojo_runtime.config import StepMetrics
from dojocloud.execution import jobproc, rankgroup
from dojocloud.execution.jobproc import SegmentOrder

log = logging.getLogger(__name__)
_ctx = multiprocessing.get_context("forkserver")
# What a job process would otherwise import itself, seconds each (the built-in digits set
# comes through scikit-learn).
PRELOAD = ["dojocloud.execution.jobproc", "dojo_runtime.training", "sklearn.datasets"]
TERM_GRACE_S = 1.0  # between SIGTERM and SIGKILL
PEER_GRACE_S = 2.0  # see _check_broken
POLL_S = 0.05  # how often the supervisor looks at the pipe, the stop request and the peak
OOM = "OUT_OF_MEMORY"
CRASHED = "PROCESS_CRASHED"
ERROR = "TRAINING_ERROR"
INTERRUPTED = "interrupted"  # a signal the worker did not send (the worker is stopping)
RANK_LOST = "RANK_LOST"  # a rank of a gang was killed from outside: the segment is redone
_STEP_FIELDS = tuple(StepMetrics.__dataclass_fields__)
_ctx.set_forkserver_preload(PRELOAD)  # whoever starts the fork server first: it imports these


def start_fork_server() -> None:
    """Starts the fork server now (in the worker's start-up), so that importing the runtime
    does not delay the first job."""
    multiprocessing.forkserver.ensure_running()


@dataclass
class ProcessEnd:
    """How a job's processes ended (rank 0's progress; the gang's failure, if any)."""

    start_step: int
    end_step: int
    start_device_seconds: float
    device_seconds: float
    checkpoint: bytes | None = None
    failure: str | None = None  # OOM, CRASHED, ERROR, INTERRUPTED, RANK_LOST; None: ran or stopped
    message: str = ""
    peak_bytes: int = 0  # the largest of the ranks' peaks
    limit_bytes: int = 0  # per rank
    signalled: list[str] = field(default_factory=list)  # what the supervisor had to send
    exitcode: int | None = None  # of the rank that failed first (else rank 0)
    pid: int = 0
    ranks: int = 1
    failed_rank: int | None = None
    code: str | None = None  # ERROR: the runtime's failure code the failing rank sent
    failed_step: int | None = None  # ERROR: the step it failed at, where known
    evaluation: dict[str, float | None] | None = None  # rank 0's held-out evaluation (last segment)


@dataclass
class _Rank:
    index: int
    proc: BaseProcess
    receiver: Connection
    open: bool = True
    done: bool = False
    reported_oom: bool = False
    error: str = ""
    peer_error: bool = False  # its error was a collective losing another rank
    peak_bytes: int = 0
    code: str | None = None  # the runtime's failure code it sent with its error
    failed_step: int | None = None


@dataclass
class _Gang:
    ranks: list[_Rank]
    end: ProcessEnd
    on_step: Callable[[StepMetrics], None]
    broken: _Rank | None = None  # the first rank seen to fail: the gang's cause
    failure_seen_at: float | None = None  # when a failure was first seen
    killed: bool = False  # the supervisor killed the rest of a broken gang
    on_log: Callable[[float, str, str], None] | None = None  # rank 0's log lines


def run_job_process(
    order: SegmentOrder,
    *,
    start_step: int,
    on_step: Callable[[StepMetrics], None],
    should_stop: Callable[[], str | None],
    keep_checkpoint: Callable[[str], bool],
    grace_s: float,
    devices: list[str] | None = None,
    rendezvous_timeout_s: float = 120.0,
    on_log: Callable[[float, str, str], None] | None = None,
) -> ProcessEnd:
    """Runs one segment in `order.world` job processes until they end; returns how.
    `devices[r]` is rank r's torch device (default: the order's); `should_stop()` names a
    reason to stop (or None); `keep_checkpoint(reason)` says whether that stop checkpoints;
    `on_log(time, level, text)` gets the job's log lines (rank 0's)."""
    world = max(order.world, 1)
    devices = devices or [order.device] * world
    store, rendezvous = rankgroup.host_store(rendezvous_timeout_s) if world > 1 else (None, None)
    stop = _ctx.Value("i", jobproc.RUN, lock=False)
    orders = [
        dataclasses.replace(order, rank=r, world=world, rendezvous=rendezvous, device=devices[r])
        for r in range(world)
    ]
    end = ProcessEnd(start_step, start_step, 0.0, 0.0, limit_bytes=order.memory_limit_bytes)
    end.ranks = world
    gang = _Gang([_start(o, stop) for o in orders], end, on_step, on_log=on_log)
    end.pid = gang.ranks[0].proc.pid or 0
    try:
        _supervise(gang, stop, should_stop, keep_checkpoint, grace_s)
    finally:
        for rank in gang.ranks:
            _reap(rank)
        del store  # the rendezvous closes with the segment
    _classify(gang)
    return end


def _start(order: SegmentOrder, stop: Any) -> _Rank:
    receiver, sender = _ctx.Pipe(duplex=False)
    proc = _ctx.Process(
        target=jobproc.main, args=(order, sender, stop), name="dojo-job", daemon=True
    )
    proc.start()
    sender.close()  # the rank holds the only write end: its exit is our EOF
    return _Rank(order.rank, proc, receiver)


def _reap(rank: _Rank) -> None:
    rank.proc.join(timeout=5)
    if rank.proc.is_alive():  # the supervisor itself is failing: leave nothing behind
        rank.proc.kill()
        rank.proc.join(timeout=5)
    rank.receiver.close()


def _supervise(
    gang: _Gang,
    stop: Any,
    should_stop: Callable[[], str | None],
    keep_checkpoint: Callable[[str], bool],
    grace_s: float,
) -> None:
    end = gang.end
    stop_at: float | None = None
    term_at: float | None = None
    while True:
        _read(gang)
        alive = [r for r in gang.ranks if r.proc.is_alive()]
        if not alive and not any(r.open for r in gang.ranks):
            break
        for rank in gang.ranks:
            rank.peak_bytes = max(rank.peak_bytes, jobproc.vm_peak_bytes(rank.proc.pid or 0))
        _check_broken(gang, alive)
        now = time.monotonic()
        if stop_at is None:
            reason = should_stop()
            if reason is not None:
                keep = keep_checkpoint(reason)
                stop.value = jobproc.STOP_KEEP if keep else jobproc.STOP_DISCARD
                stop_at = now
        elif term_at is None and now - stop_at >= grace_s and alive:
            log.info("job process %s: no stop after %.1fs; SIGTERM", end.pid, grace_s)
            end.signalled.append("SIGTERM")
            for rank in alive:
                rank.proc.terminate()
            term_at = now
        elif term_at is not None and now - term_at >= TERM_GRACE_S and alive:
            log.warning("job process %s: still alive after SIGTERM; SIGKILL", end.pid)
            end.signalled.append("SIGKILL")
            for rank in alive:
                rank.proc.kill()
            term_at = float("inf")


def _read(gang: _Gang) -> None:
    """Handles what the ranks sent (waiting up to POLL_S for something); marks EOFs."""
    by_conn = {id(r.receiver): r for r in gang.ranks if r.open}
    if not by_conn:
        time.sleep(POLL_S)
        return
    for conn in wait([r.receiver for r in gang.ranks if r.open], timeout=POLL_S):
        rank = by_conn[id(conn)]
        try:
            _handle(gang, rank, json.loads(rank.receiver.recv_bytes()))
        except (EOFError, OSError):
            rank.open = False


def _check_broken(gang: _Gang, alive: list[_Rank]) -> None:
    """The first rank to end badly breaks the gang: the others are killed at once (they
    would block in their next collective until its timeout)."""
    if gang.broken is None:
        # A rank that exited is judged once its pipe is drained to EOF: its last messages
        # (the evaluation, "done" and the checkpoint) may still be waiting there.
        ends = [
            _rank_end(r) if not r.open else dataclasses.replace(_rank_end(r), exitcode=None)
            for r in gang.ranks
        ]
        now = time.monotonic()
        if any(_failed(e) for e in ends) and gang.failure_seen_at is None:
            gang.failure_seen_at = now
        waited = now - (gang.failure_seen_at or now) >= PEER_GRACE_S
        cause = first_cause(ends, final=waited)
        gang.broken = gang.ranks[cause] if cause is not None else None
    if gang.broken is not None and alive and not gang.killed and len(gang.ranks) > 1:
        log.warning(
            "job process %s: rank %d of %d failed; killing the gang",
            gang.end.pid,
            gang.broken.index,
            len(gang.ranks),
        )
        gang.killed = True
        for rank in alive:
            rank.proc.kill()


@dataclass(frozen=True)
class RankEnd:
    """What the supervisor knows of one rank (alive: exitcode None)."""

    index: int
    exitcode: int | None
    done: bool = False
    reported_oom: bool = False
    error: str = ""
    peer_error: bool = False
    peak_bytes: int = 0


def _rank_end(rank: _Rank) -> RankEnd:
    return RankEnd(
        rank.index,
        None if rank.proc.is_alive() else rank.proc.exitcode,
        rank.done,
        rank.reported_oom,
        rank.error,
        rank.peer_error,
        rank.peak_bytes,
    )


def _failed(rank: RankEnd) -> bool:
    if rank.error or rank.reported_oom:
        return True
    return rank.exitcode is not None and (not rank.done or rank.exitcode != 0)


def first_cause(ranks: list[RankEnd], *, final: bool) -> int | None:
    """The rank whose failure is the gang's: one that failed on its own; a rank whose
    collective lost a peer only when no other did and `final` (a killed peer's exit status
    can reach the supervisor after the survivor's report)."""
    failed = [r for r in ranks if _failed(r)]
    own = [r for r in failed if not r.peer_error]
    if own:
        return own[0].index
    return failed[0].index if failed and final else None


def _handle(gang: _Gang, rank: _Rank, msg: dict[str, Any]) -> None:
    end, kind = gang.end, msg.get("kind")
    if kind == "started":
        end.start_step = end.end_step = int(msg["step"])
        end.start_device_seconds = end.device_seconds = float(msg["device_seconds"])
    elif kind == "step":
        m = StepMetrics(**{k: msg[k] for k in _STEP_FIELDS})
        end.end_step, end.device_seconds = m.step, m.device_seconds
        gang.on_step(m)
    elif kind == "done":
        if rank.index == 0:
            end.end_step, end.device_seconds = int(msg["step"]), float(msg["device_seconds"])
            if int(msg["checkpoint_bytes"]) > 0:
                end.checkpoint = rank.receiver.recv_bytes()
        rank.done = True
    elif kind == "oom":
        rank.reported_oom = True
        rank.peak_bytes = max(rank.peak_bytes, int(msg["peak_bytes"]))
        rank.error = str(msg.get("error", ""))
    elif kind == "error":
        rank.error = str(msg.get("error", "")) or "error"
        rank.peer_error = bool(msg.get("peer", False))
        rank.code = msg.get("code")
        rank.failed_step = msg.get("step")
    elif kind == "evaluation" and rank.index == 0:
        # NaN (no accuracy for a regression or language model) is not JSON: stored as null.
        values = {k: float(msg[k]) for k in ("step", "loss", "accuracy", "samples")}
        end.evaluation = {k: v if math.isfinite(v) else None for k, v in values.items()}
    elif kind == "log" and rank.index == 0 and gang.on_log is not None:
        gang.on_log(float(msg["time"]), str(msg["level"]), str(msg["text"]))


def _classify(gang: _Gang) -> None:
    end = gang.end
    ends = [_rank_end(r) for r in gang.ranks]
    broken = gang.broken.index if gang.broken is not None else None
    cause, failure, message = classify(
        ends, limit_bytes=end.limit_bytes, signalled=bool(end.signalled), broken=broken
    )
    end.peak_bytes = max(r.peak_bytes for r in ends)
    end.exitcode = ends[cause].exitcode
    end.failure, end.message = failure, message
    if failure == ERROR:
        end.code, end.failed_step = gang.ranks[cause].code, gang.ranks[cause].failed_step
    if failure is not None and len(ends) > 1:
        end.failed_rank = cause
        end.pid = gang.ranks[cause].proc.pid or end.pid


def classify(
    ranks: list[RankEnd], *, limit_bytes: int, signalled: bool, broken: int | None = None
) -> tuple[int, str | None, str]:
    """(cause rank, failure or None, message) of a gang whose ranks all ended."""
    found = broken if broken is not None else first_cause(ranks, final=True)
    if found is None:
        return 0, None, ""
    cause, world = ranks[found], len(ranks)
    code = cause.exitcode
    near_limit = limit_bytes > 0 and cause.peak_bytes >= 0.95 * limit_bytes
    failure: str | None
    if cause.reported_oom or code == jobproc.EXIT_OOM or (cause.error and near_limit):
        # An error at the limit is the limit's doing: torch reports some refused allocations
        # as other errors (torch.save's "unexpected pos" when its buffer cannot grow).
        failure, message = OOM, cause.error
    elif cause.error:
        failure, message = ERROR, cause.error
    elif signalled:  # stopped by the supervisor: what it did is billed, nothing more
        return found, None, ""
    elif code in (-signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP):
        failure, message = INTERRUPTED, ""
    elif code == -signal.SIGKILL and world > 1 and not near_limit:
        return found, RANK_LOST, f"rank {found} of {world} was killed (signal 9)"
    elif code == -signal.SIGKILL or near_limit:  # the kernel's OOM killer, or a crash at it
        failure, message = OOM, f"job process ended by signal {-(code or 0)}"
    else:
        failure, message = CRASHED, f"job process exited with status {code}"
    if world > 1 and failure != INTERRUPTED:
        message = f"rank {found} of {world}: {message}"
    return found, failure, message
