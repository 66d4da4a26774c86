"""A job process's share of the host: threads and memory, from its devices and the slots."""

from __future__ import annotations

import pytest

from dojo_runtime.config import TrainConfig
from dojocloud.execution.jobproc import EXIT_OOM, SegmentOrder, is_out_of_memory
from dojocloud.execution.limits import memory_limit, slots_for_pools, thread_share
from dojocloud.execution.supervisor import ERROR, OOM, ProcessEnd, _classify, _Run

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
) -> ProcessEnd:
    order = SegmentOrder(TrainConfig("mlp"), None, 1, 1, 2 * GIB, 1)
    end = ProcessEnd(0, 0, 0.0, 0.0, failure=failure, peak_bytes=peak, limit_bytes=2 * GIB)
    end.exitcode = exitcode
    run = _Run(order, end, lambda m: None, done=done)
    _classify(run)
    return end


def test_how_a_job_process_end_is_classified() -> None:
    assert _run(0, GIB, done=True).failure is None
    assert _run(EXIT_OOM, 2 * GIB).failure == OOM
    assert _run(-9, GIB).failure == OOM  # the kernel's OOM killer
    assert _run(1, int(1.99 * GIB), failure=ERROR).failure == OOM  # an error at the limit
    assert _run(1, GIB, failure=ERROR).failure == ERROR
    assert _run(-15, GIB).failure == "interrupted"  # not ours: the worker is stopping
    assert _run(-11, GIB).failure == "PROCESS_CRASHED"
