"""The cost model against figures computed by hand from the packaged specs.

Figures used (dojo_hardware.yaml): tile 9e15 FLOP/s BF16, 8,850 nodes x 400 GB/s SRAM load and
270 GB/s store, 11 GB SRAM; 20 DIPs per 6-tile tray (3.33 per tile) x 800 GB/s HBM; tile edge
9 TB/s (bidirectional); A100 312 TF BF16, 1,555 GB/s HBM (40 GB part), NVLink 600 GB/s
(bidirectional); p4d network 50 GB/s. Cost-model defaults (cost_model.yaml): matrix efficiency
0.70 Dojo / 0.75 GPU, memory and network efficiency 0.80, SRAM usable fraction 0.5, kernel
overhead 2 us Dojo / 5 us GPU; latencies 1 us per tile-edge hop, 2.3 us NVLink, 10 us network.
"""

from __future__ import annotations

import pytest

from dojo_runtime.cost import (
    dojo_allreduce_seconds,
    dojo_target,
    gpu_allreduce_seconds,
    gpu_target,
    kernel_time,
    ring_allreduce_seconds,
    tray_split,
)
from dojo_runtime.kernels import KernelCall
from dojo_runtime.specs import load_cost_params, load_hardware

HW = load_hardware()
PARAMS = load_cost_params()
GB = 1e9


def matmul(m: int, k: int, n: int, b: int = 2, precision: str = "bf16") -> KernelCall:
    return KernelCall(
        "matmul", 2.0 * m * k * n, (m * k + k * n) * b, m * n * b, precision=precision
    )


def test_square_bf16_matmul_on_one_tile_is_compute_bound_from_sram() -> None:
    # 4096^3 BF16: 2 * 4096^3 = 1.374e11 FLOP; 67.1 MB read + 33.6 MB written fit 5.5 GB SRAM.
    kt = kernel_time(matmul(4096, 4096, 4096), dojo_target(1, HW, PARAMS))
    compute = 2 * 4096**3 / (9.0e15 * 0.70)  # 2.1816e-5 s
    sram_reads = 2 * 4096**2 * 2 / (8850 * 4.0e11 * 0.80)  # 2.37e-8 s
    assert kt.from_sram
    assert kt.compute_s == pytest.approx(compute)
    assert kt.memory_s == pytest.approx(sram_reads)
    assert kt.total_s == pytest.approx(2.1816e-5 + 2e-6, rel=1e-4)


def test_tall_matmul_spills_sram_and_streams_from_dip_hbm() -> None:
    # 1e6 x 4096 @ 4096 x 4096 BF16: working set 8.225 GB read + 8.192 GB written > 5.5 GB,
    # so it streams at 3.33 DIPs x 800 GB/s x 0.8 = 2.131e12 B/s.
    call = matmul(1_000_000, 4096, 4096)
    kt = kernel_time(call, dojo_target(1, HW, PARAMS))
    moved = (1_000_000 * 4096 + 4096**2) * 2 + 1_000_000 * 4096 * 2
    assert not kt.from_sram
    assert kt.memory_s == pytest.approx(moved / (3.33 * 8.0e11 * 0.80))  # 7.70e-3 s
    assert kt.compute_s == pytest.approx(2 * 1e6 * 4096**2 / (9.0e15 * 0.70))  # 5.33e-3 s
    assert kt.total_s == pytest.approx(kt.memory_s + 2e-6)
    assert kt.exposed_memory_s == pytest.approx(kt.memory_s - kt.compute_s)


def test_two_tiles_split_the_same_kernel_data_parallel() -> None:
    call = matmul(1_000_000, 4096, 4096)
    one = kernel_time(call, dojo_target(1, HW, PARAMS))
    six = kernel_time(call, dojo_target(6, HW, PARAMS))
    assert six.from_sram  # 16.4 GB fits six tiles' 33 GB of usable SRAM
    assert six.compute_s == pytest.approx(one.compute_s / 6)


def test_gpu_matmul_is_an_hbm_roofline() -> None:
    a100 = gpu_target("gpu-a100", 1, HW, PARAMS)
    big = kernel_time(matmul(4096, 4096, 4096), a100)
    assert big.compute_s == pytest.approx(2 * 4096**3 / (3.12e14 * 0.75))  # 5.87e-4 s
    assert big.memory_s == pytest.approx(3 * 4096**2 * 2 / (1.555e12 * 0.80))
    assert big.total_s == pytest.approx(big.compute_s + 5e-6)
    # An elementwise op is memory-bound: 1e9 bf16 values in and out at 1.244e12 B/s.
    ew = kernel_time(KernelCall("elementwise", 1e9, 2e9, 2e9, precision="bf16"), a100)
    assert ew.total_s == pytest.approx(4e9 / (1.555e12 * 0.80) + 5e-6)


def test_formats_pick_their_peak() -> None:
    h100 = gpu_target("gpu-h100", 1, HW, PARAMS)
    a100 = gpu_target("gpu-a100", 1, HW, PARAMS)
    assert h100.peak("cfp8") == 1.979e15  # FP8 tensor cores
    assert a100.peak("cfp8") == 3.12e14  # no FP8 on Ampere: the 16-bit path
    assert a100.peak("fp32") == 1.95e13  # CUDA cores, no TF32
    assert dojo_target(2, HW, PARAMS).peak("fp32") == 2 * 5.65e14
    with pytest.raises(ValueError, match="precision"):
        h100.peak("fp64")
    with pytest.raises(ValueError, match="kernel class"):
        kernel_time(KernelCall("fft", 1.0, 1.0, 1.0), h100)


def test_convolution_efficiency_is_looked_up_per_gpu_architecture() -> None:
    # cost_model.yaml: shared conv2d bf16 0.418 (fitted on A100 training rows), Volta's own
    # 0.528 (fitted on V100 inference rows); TF32 and plain matmuls are shared by all.
    archs = {a: HW.gpu(a).architecture for a in ("gpu-v100", "gpu-a100", "gpu-h100", "gpu-h200")}
    assert archs == {
        "gpu-v100": "volta", "gpu-a100": "ampere", "gpu-h100": "hopper", "gpu-h200": "hopper"
    }  # fmt: skip
    v100 = gpu_target("gpu-v100", 1, HW, PARAMS)
    assert v100.matrix_efficiency("conv2d", "bf16") == 0.528
    assert v100.matrix_efficiency("matmul", "bf16") == 0.75
    assert v100.matrix_efficiency("conv2d", "tf32") == 0.75  # no TF32: FP32 on the CUDA cores
    for other in ("gpu-a100", "gpu-h100", "gpu-h200"):
        t = gpu_target(other, 1, HW, PARAMS)
        assert t.matrix_efficiency("conv2d", "bf16") == 0.418
        assert t.matrix_efficiency("conv2d", "tf32") == 0.261
    conv = KernelCall("conv2d", 1e13, 1e6, 1e6, precision="bf16")
    assert kernel_time(conv, v100).compute_s == pytest.approx(1e13 / (1.25e14 * 0.528))


def test_allreduce_of_1gb_across_six_tiles() -> None:
    # One tray, ring of 6 over tile edges at 9 TB/s / 2 per way x 0.8 = 3.6e12 B/s:
    # 2 * 5/6 * 1e9 / 3.6e12 = 4.6296e-4 s, plus 2 * 5 hops x 1 us = 1e-5 s.
    assert dojo_allreduce_seconds(1 * GB, 6, HW, PARAMS) == pytest.approx(4.7296e-4, rel=1e-4)


def test_allreduce_of_1gb_on_8_a100() -> None:
    # One node, ring of 8 over NVLink at 600 GB/s / 2 per way x 0.8 = 2.4e11 B/s:
    # 2 * 7/8 * 1e9 / 2.4e11 = 7.2917e-3 s, plus 14 steps x 2.3 us = 3.22e-5 s.
    assert gpu_allreduce_seconds(1 * GB, "gpu-a100", 8, HW, PARAMS) == pytest.approx(
        7.3239e-3, rel=1e-4
    )


def test_allreduce_across_trays_and_nodes_adds_the_slower_network() -> None:
    # 12 tiles = 2 trays: in-tray ring as above, then a ring of 2 trays over the Z-plane:
    # 6 tiles x 3.33 DIPs x 50 GB/s x 0.8 = 8e11 B/s -> 2 * 1/2 * 1e9 / 8e11 + 2 * 1.3 us.
    assert dojo_allreduce_seconds(1 * GB, 12, HW, PARAMS) == pytest.approx(
        4.7296e-4 + 1.25e-3 + 2.6e-6, rel=1e-4
    )
    # 16 A100 = 2 nodes: NVLink ring, then 2 nodes over 50 GB/s x 0.8 -> 0.025 s + 2 x 10 us.
    assert gpu_allreduce_seconds(1 * GB, "gpu-a100", 16, HW, PARAMS) == pytest.approx(
        7.3239e-3 + 0.025 + 2e-5, rel=1e-4
    )


@pytest.mark.parametrize(("members", "expected"), [(1, 0.0), (2, 1.0), (4, 1.5), (8, 1.75)])
def test_ring_allreduce_moves_2_p_minus_1_over_p(members: int, expected: float) -> None:
    assert ring_allreduce_seconds(1.0, members, 1.0, 0.0) == pytest.approx(expected)


@pytest.mark.parametrize(("tiles", "split"), [(1, [1]), (6, [6]), (7, [6, 1]), (13, [6, 6, 1])])
def test_tray_split_fills_whole_trays_first(tiles: int, split: list[int]) -> None:
    assert tray_split(tiles, 6) == split
