"""The job process: one rank of one segment of one job, trained in its own OS process.

The pool's worker forks it from a fork server that has imported the runtime once (see
`supervisor`), so a segment starts in milliseconds, not the seconds a fresh interpreter takes
to import torch. It touches no database, Redis or Django: it gets its order (the config, the
checkpoint to resume from, the step to reach, its thread share and memory limit) as
arguments, and answers over a one-way pipe with JSON messages (and the checkpoint as raw
bytes), so the worker never unpickles anything a job process wrote.

A job of N ranks runs N such processes (a gang, see `supervisor`): each trains its slice of
the global batch and they sum gradients over a torch.distributed group (`rankgroup`). Only
rank 0 reports progress and sends the checkpoint; every rank reports how it ended.

Messages: {"kind": "started", "step", "device_seconds"}, {"kind": "step", ...StepMetrics},
{"kind": "done", "step", "device_seconds", "checkpoint_bytes"} followed by the checkpoint's
bytes when checkpoint_bytes > 0, {"kind": "oom", "peak_bytes", "limit_bytes", "error"},
{"kind": "error", "error", "code", "step", "peer"} (code: failure_codes; peer: a collective
failed because another rank is gone), and {"kind": "log", "time", "level", "text"}: the
job's log lines as they happen (rank 0's; the worker scrubs and stores them).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from dojo_runtime.config import StepMetrics, TrainConfig
from dojocloud.execution import failure_codes, joblines, log_lines
from dojocloud.execution.rankgroup import PeerLost, Rendezvous

# What the stop cell holds: the worker writes it, the job reads it between steps.
RUN = 0
STOP_KEEP = 1  # stop at the next step boundary and checkpoint (preemption, max runtime)
STOP_DISCARD = 2  # stop at the next step boundary, no checkpoint (cancel, lost lease)
EXIT_OOM = 3  # exit status of a job process that ran out of its memory limit
PROGRESS_EVERY_S = 0.25  # besides metric steps, the latest step at least this often
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
PROCESS_NAME = b"dojo-job"  # what ps and /proc/PID/comm show for a job process


class StopCell(Protocol):
    value: int


@dataclass(frozen=True)
class SegmentOrder:
    config: TrainConfig
    checkpoint: bytes | None  # the blob to resume from; None: from the start
    until_step: int
    threads: int  # torch intra-op threads (the job's share of the host's cores)
    memory_limit_bytes: int  # RLIMIT_AS of the process; 0: none
    metric_every: int  # steps between metric messages (and the segment's last step)
    dataset_path: str | None = None  # an uploaded dataset in this machine's cache; None: built-in
    model_path: str | None = None  # an uploaded ONNX model in this machine's cache
    rank: int = 0
    world: int = 1  # ranks of the gang; > 1: data parallel over `rendezvous`
    rendezvous: Rendezvous | None = None
    device: str = "cpu"  # the torch device this rank computes on ("cuda:0", ...)
    evaluate: bool = False  # the job's last segment: evaluate on the held-out split at its end


def vm_peak_bytes(pid: int | str = "self") -> int:
    """The process's peak address-space size (VmPeak), what RLIMIT_AS bounds; 0 if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def is_out_of_memory(exc: BaseException) -> bool:
    """An allocation refused by the limit: Python's MemoryError, or torch's allocator error
    (a RuntimeError whose text is the only signal torch gives)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "Cannot allocate memory" in text
    )


def _die_with_parent() -> None:
    """SIGKILL this process when its parent (the fork server, which exits with the worker)
    goes: a killed worker leaves no job computing on."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(PROCESS_NAME), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the broken pipe still stops the job
        pass
    if os.getppid() != parent:  # the parent went before prctl took effect
        os._exit(1)


def _own_session() -> None:
    """Each job process leads a session of its own. With the kernel's autogroup scheduling
    (on by default) CPU time is shared between sessions first: left in the worker's session,
    all of a worker's job processes would together get one session's share of a contended
    host, the same as its Redis or API; in their own, each job competes as one entity. The
    job still dies with the worker (PR_SET_PDEATHSIG) and is signalled by pid."""
    with contextlib.suppress(OSError):  # already a session leader
        os.setsid()


def _bound(order: SegmentOrder) -> None:
    threads = str(max(order.threads, 1))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.putenv(name, threads)  # for the C libraries that read them when they start
    import torch

    torch.set_num_threads(max(order.threads, 1))
    # CUDA maps tens of GiB of address space for itself: RLIMIT_AS would refuse its start,
    # so a CUDA rank is bounded by its GPU's memory instead.
    if order.memory_limit_bytes > 0 and not order.device.startswith("cuda"):
        limit = order.memory_limit_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _send(conn: Connection, **message: Any) -> None:
    conn.send_bytes(json.dumps(message).encode())


def main(order: SegmentOrder, conn: Connection, stop: StopCell) -> None:
    """The job process's entry point (a multiprocessing target)."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which decides
    _own_session()
    try:
        _bound(order)
        _train(order, conn, stop)
    except BaseException as exc:
        if is_out_of_memory(exc):
            _report_oom(conn, order, exc)
            os._exit(EXIT_OOM)
        if isinstance(exc, BrokenPipeError | EOFError):  # the worker is gone
            os._exit(1)
        peer = isinstance(exc, PeerLost)
        code, step = failure_codes.code_of(exc)
        for text in log_lines.error_lines(exc):
            _send_quietly(conn, kind="log", time=time.time(), level="ERROR", text=text)
        _send_quietly(
            conn,
            kind="error",
            error=f"{type(exc).__name__}: {exc}",
            code=code,
            step=step,
            peer=peer,
        )
        os._exit(1)
    conn.close()


def _report_oom(conn: Connection, order: SegmentOrder, exc: BaseException) -> None:
    # Give the message room: what is still allocated is released before it is written.
    import gc

    gc.collect()
    _send_quietly(
        conn,
        kind="oom",
        peak_bytes=vm_peak_bytes(),
        limit_bytes=order.memory_limit_bytes,
        error=f"{type(exc).__name__}: {str(exc)[:300]}",
    )


def _send_quietly(conn: Connection, **message: Any) -> None:
    try:
        _send(conn, **message)
    except (OSError, ValueError):
        print(f"job process: could not report {message}", file=sys.stderr)


def _log(conn: Connection, text: str, level: str = "INFO") -> None:
    _send(conn, kind="log", time=time.time(), level=level, text=text)


def _train(order: SegmentOrder, conn: Connection, stop: StopCell) -> None:
    from dojo_runtime.training import Trainer
    from dojocloud.execution.rankgroup import TorchCollective

    joblines.log_warnings(lambda text: _log(conn, text, "WARNING"))
    payload = Path(order.dataset_path).read_bytes() if order.dataset_path else None
    config = order.config
    if order.model_path and config.custom_model is not None:
        graph = Path(order.model_path).read_bytes()  # checked against its sha256 when parsed
        config = replace(config, custom_model=replace(config.custom_model, graph=graph))
    group = None
    if order.world > 1:
        assert order.rendezvous is not None, "a gang of ranks needs a rendezvous"
        group = TorchCollective(order.rendezvous, order.rank, order.world, order.device)
    try:
        # Trainer checks an uploaded dataset's bytes against its sha256.
        trainer = Trainer(config, payload=payload, collective=group, device=order.device)
        _train_segment(order, trainer, conn, stop)
    finally:
        if group is not None:
            group.close()


def _train_segment(order: SegmentOrder, trainer: Any, conn: Connection, stop: StopCell) -> None:
    lead = order.rank == 0  # only rank 0 reports progress, logs and sends the checkpoint
    if lead:
        _log(conn, joblines.data_loaded(trainer))
    state = trainer.restore(order.checkpoint) if order.checkpoint else trainer.initial_state()
    start_step = state.step
    if lead:
        _log(conn, joblines.segment_start(start_step, order.until_step, bool(order.checkpoint)))
        _send(conn, kind="started", step=state.step, device_seconds=state.device_seconds)
    every = max(order.metric_every, 1)
    last_sent = time.monotonic()

    def on_step(m: StepMetrics) -> None:
        nonlocal last_sent
        now = time.monotonic()
        metric = m.step % every == 0 or m.step == order.until_step
        if metric or now - last_sent >= PROGRESS_EVERY_S:
            last_sent = now
            _send(conn, kind="step", **asdict(m))
        if metric:
            _log(conn, joblines.step_line(m))

    state = trainer.train(
        state,
        order.until_step,
        on_step=on_step if lead else None,
        should_stop=lambda: stop.value != RUN,
    )
    if lead and state.step < order.until_step:
        _log(conn, f"stopped at step {state.step}, as asked")
    elif lead and order.evaluate:
        result = trainer.evaluate(state)
        _log(conn, joblines.evaluation(result))
        _send(conn, kind="evaluation", step=state.step, **result)
    # The snapshot is collective (rank 0 gathers the ranks' numerics), so every rank takes
    # part whenever steps ran; rank 0 alone decides whether a cancel discards it.
    blob = trainer.snapshot(state) if state.step > start_step else b""
    if stop.value == STOP_DISCARD:
        blob = b""
    _send(
        conn,
        kind="done",
        step=state.step,
        device_seconds=state.device_seconds,
        checkpoint_bytes=len(blob),
    )
    if blob:
        conn.send_bytes(blob)
