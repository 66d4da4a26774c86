"""Modelled devices: a virtual clock, per-step breakdowns, Dojo partitions and GPU groups."""

from __future__ import annotations

import pytest

from dojo_runtime.cost import dojo_allreduce_seconds, dojo_target, kernel_time
from dojo_runtime.devices import Device, DojoPartition, GpuGroup, make_device, tray_shape
from dojo_runtime.kernels import KernelCall
from dojo_runtime.specs import load_cost_params, load_hardware

MATMUL = KernelCall("matmul", 2.0 * 4096**3, 2 * 4096**2 * 2.0, 4096**2 * 2.0, precision="bf16")
NORM = KernelCall("norm", 5e6, 2e6, 2e6, precision="bf16")


def test_make_device_picks_the_variant_and_satisfies_the_protocol() -> None:
    dojo = make_device("dojo-tile", 4, "bf16")
    gpus = make_device("gpu-h100", 16, "cfp8")
    assert isinstance(dojo, DojoPartition) and isinstance(gpus, GpuGroup)
    device: Device = dojo
    assert (device.accelerator, device.count, device.clock) == ("dojo-tile", 4, 0.0)
    assert gpus.nodes == 2
    assert dojo.torch_device == "cpu"
    assert gpus.torch_device in ("cpu", "cuda")


@pytest.mark.parametrize(
    ("accelerator", "count", "precision", "match"),
    [
        ("tpu-v4", 1, "bf16", "unknown accelerator"),
        ("dojo-tile", 0, "bf16", "at least 1"),
        ("dojo-tile", 121, "bf16", "at most 120"),
        ("gpu-a100", 8, "fp64", "precision"),
    ],
)
def test_make_device_rejects_bad_requests(
    accelerator: str, count: int, precision: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        make_device(accelerator, count, precision)


def test_clock_advances_by_each_kernel_and_the_allreduce() -> None:
    hw, params = load_hardware(), load_cost_params()
    device = make_device("dojo-tile", 6, "bf16")
    target = dojo_target(6, hw, params)
    t1 = device.run_kernel(MATMUL)
    t2 = device.run_kernel(NORM)
    assert t1 == pytest.approx(kernel_time(MATMUL, target).total_s)
    assert device.clock == pytest.approx(t1 + t2)
    comm = device.step_end(1e9)
    assert comm == pytest.approx(dojo_allreduce_seconds(1e9, 6, hw, params))
    assert device.clock == pytest.approx(t1 + t2 + comm)


def test_breakdown_is_of_the_last_step_and_sums_to_its_time() -> None:
    device = make_device("gpu-a100", 8, "bf16")
    step1 = device.run_step([MATMUL, MATMUL, NORM], 1e8)
    early = device.run_kernel(MATMUL)  # the next step has begun; breakdown stays the last
    b = device.breakdown()
    assert b.total_s == pytest.approx(step1)
    assert b.by_class["matmul"].calls == 2 and b.by_class["norm"].calls == 1
    assert b.comm_s > 0 and b.compute_s > 0
    assert sum(b.seconds_by_class().values()) + b.comm_s == pytest.approx(step1)
    assert b.overhead_s == pytest.approx(3 * 5e-6)
    step2 = device.run_step([], 1e8)
    assert device.breakdown().by_class["matmul"].calls == 1
    assert device.clock == pytest.approx(step1 + early + step2)
    assert step2 == pytest.approx(device.breakdown().total_s - early)


def test_breakdown_before_any_step_end_shows_the_kernels_so_far() -> None:
    device = make_device("dojo-tile", 1, "bf16")
    assert device.breakdown().total_s == 0.0
    device.run_kernel(NORM)
    assert device.breakdown().by_class["norm"].calls == 1


def test_norm_on_gpu_shows_exposed_memory_time() -> None:
    device = make_device("gpu-a100", 1, "bf16")
    device.run_step([NORM], 0.0)
    b = device.breakdown()
    # 4e6 bytes at 1.244e12 B/s = 3.2e-6 s of memory, 5e6 FLOP at 9.75e12 = 5.1e-7 s compute.
    assert b.memory_s == pytest.approx(4e6 / (1.555e12 * 0.8) - 5e6 / (1.95e13 * 0.5))
    assert b.comm_s == 0.0  # a single device reduces nothing


@pytest.mark.parametrize(
    ("tiles", "shape"),
    [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (5, (2, 3)), (6, (2, 3))],
)
def test_partitions_are_compact_submeshes_of_a_tray(tiles: int, shape: tuple[int, int]) -> None:
    assert tray_shape(tiles, 2, 3) == shape


def test_large_partitions_span_whole_trays() -> None:
    device = make_device("dojo-tile", 14, "cfp8")
    assert isinstance(device, DojoPartition)
    assert device.trays == (6, 6, 2)
    assert device.shapes == ((2, 3), (2, 3), (1, 2))


def test_more_devices_make_a_compute_bound_step_faster() -> None:
    big = [KernelCall("matmul", 1e15, 1e9, 1e9, precision="bf16")]
    one = make_device("gpu-h100", 1, "bf16").run_step(big, 1e8)
    eight = make_device("gpu-h100", 8, "bf16").run_step(big, 1e8)
    assert eight < one / 4
