"""A job process's share of the host: threads and memory, from its devices and the slots."""

from __future__ import annotations

import pytest

from dojocloud.execution.jobproc import EXIT_OOM, is_out_of_memory
from dojocloud.execution.limits import memory_limit, slots_for_pools, thread_share
from dojocloud.execution.supervisor import (
    CRASHED,
    ERROR,
    OOM,
    RANK_LOST,
    RankEnd,
    classify,
    first_cause,
)

GIB = 2**30


@pytest.mark.parametrize(
    ("devices", "slots", "cores", "fixed", "threads"),
    [
        (1, 6, 2, 0, 1),  # six one-tile jobs on two cores: one thread each
        (6, 6, 2, 0, 2),  # one job holding the whole pool: every core
        (3, 6, 16, 0, 8),
        (1, 6, 2, 4, 4),  # DOJO_TORCH_THREADS fixes it
        (1, 24, 16, 0, 1),
    ],
)
def test_thread_share(devices: int, slots: int, cores: int, fixed: int, threads: int) -> None:
    assert thread_share(devices=devices, slots=slots, cores=cores, fixed=fixed) == threads


def test_memory_limit_is_the_host_share_when_the_device_is_bigger() -> None:
    tile = 109 * GIB
    one = memory_limit(devices=1, device_bytes=tile, host_bytes=24 * GIB, slots=6, fraction=0.8)
    assert one == int(0.8 * 24 * GIB / 6)
    six = memory_limit(devices=6, device_bytes=tile, host_bytes=24 * GIB, slots=6, fraction=0.8)
    assert six == int(0.8 * 24 * GIB)


def test_memory_limit_is_the_device_memory_when_the_host_is_bigger() -> None:
    limit = memory_limit(
        devices=2, device_bytes=40 * GIB, host_bytes=2048 * GIB, slots=8, fraction=0.8
    )
    assert limit == 80 * GIB


def test_the_setting_caps_the_limit() -> None:
    capped = memory_limit(
        devices=1,
        device_bytes=109 * GIB,
        host_bytes=24 * GIB,
        slots=6,
        fraction=0.8,
        cap_bytes=2 * GIB,
    )
    assert capped == 2 * GIB


def test_slots_are_the_devices_of_the_pools_served() -> None:
    devices = {"dojo": 6, "gpu-a100": 16}
    assert slots_for_pools(["dojo"], devices) == 6
    assert slots_for_pools(["dojo", "gpu-a100"], devices) == 22
    assert slots_for_pools(["unknown"], devices) == 1


def test_refused_allocations_are_out_of_memory() -> None:
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: 8 GB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("can't allocate memory"))


def _run(
    exitcode: int | None, peak: int, failure: str | None = None, done: bool = False
) -> str | None:
    rank = RankEnd(0, exitcode, done, error="boom" if failure == ERROR else "", peak_bytes=peak)
    return classify([rank], limit_bytes=2 * GIB, signalled=False)[1]


def test_how_a_job_process_end_is_classified() -> None:
    assert _run(0, GIB, done=True) is None
    assert _run(EXIT_OOM, 2 * GIB) == OOM
    assert _run(-9, GIB) == OOM  # the kernel's OOM killer
    assert _run(1, int(1.99 * GIB), failure=ERROR) == OOM  # an error at the limit
    assert _run(1, GIB, failure=ERROR) == ERROR
    assert _run(-15, GIB) == "interrupted"  # not ours: the worker is stopping
    assert _run(-11, GIB) == "PROCESS_CRASHED"


def test_a_gang_is_failed_by_its_first_own_failure_not_by_lost_peers() -> None:
    lost_peer = RankEnd(0, 1, error="PeerLost: all-reduce failed", peer_error=True)
    killed = RankEnd(1, -9, peak_bytes=GIB)
    assert first_cause([lost_peer, killed], final=False) == 1
    assert classify([lost_peer, killed], limit_bytes=2 * GIB, signalled=False) == (
        1,
        RANK_LOST,
        "rank 1 of 2 was killed (signal 9)",
    )
    # Killed at its memory limit: the kernel's OOM killer, not a lost rank.
    at_limit = RankEnd(1, -9, peak_bytes=2 * GIB)
    assert classify([lost_peer, at_limit], limit_bytes=2 * GIB, signalled=False)[1] == OOM
    oom = RankEnd(1, EXIT_OOM, reported_oom=True, error="MemoryError: ")
    assert classify([lost_peer, oom], limit_bytes=2 * GIB, signalled=False)[:2] == (1, OOM)
    # Only lost peers seen: undecided until the grace passes, then the first of them.
    alive = RankEnd(1, None)
    assert first_cause([lost_peer, alive], final=False) is None
    assert first_cause([lost_peer, alive], final=True) == 0
    crashed = RankEnd(1, -11)
    assert classify([RankEnd(0, 0, done=True), crashed], limit_bytes=0, signalled=False) == (
        1,
        CRASHED,
        "rank 1 of 2: job process exited with status -11",
    )
    done = [RankEnd(0, 0, done=True), RankEnd(1, 0, done=True)]
    assert classify(done, limit_bytes=0, signalled=False) == (0, None, "")
    stopped = [RankEnd(0, -15), RankEnd(1, -15)]
    assert classify(stopped, limit_bytes=0, signalled=True)[1] is None


def test_an_exited_rank_is_judged_once_its_pipe_is_drained() -> None:
    """A job process sends its evaluation, "done" and the checkpoint, then exits: until the
    supervisor has read the pipe to its end, an exit with status 0 is no failure."""
    import multiprocessing

    from dojocloud.execution.supervisor import ProcessEnd, _check_broken, _Gang, _Rank

    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=sender.send_bytes, args=(b'{"kind": "done"}',))
    proc.start()
    proc.join()
    assert proc.exitcode == 0
    rank = _Rank(0, proc, receiver)  # open: "done" still waits in the pipe
    gang = _Gang([rank], ProcessEnd(0, 0, 0.0, 0.0), on_step=lambda m: None)
    _check_broken(gang, alive=[])
    assert gang.broken is None
    rank.open = False  # drained to EOF without "done": now it failed
    _check_broken(gang, alive=[])
    assert gang.broken is rank
    receiver.close()
