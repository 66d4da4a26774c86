"""Cost model benchmarks: how fast it models, and what it models for a GPT-2-small step.

    cost_model_kernels_per_second       kernels modelled per wall second (a device's run_kernel)
    modelled_speedup_tile_vs_8xa100     samples/s of one Dojo tile over a whole 8x A100 node
    modelled_speedup_tile_vs_8xh100     the same against an 8x H100 node
    estimate_table_ms                   wall ms of the full default estimate table
"""

from __future__ import annotations

import time

from benchmarks.report import bench
from dojo_runtime.config import TrainConfig
from dojo_runtime.cost.workloads import GptShape, gpt_step_profile
from dojo_runtime.devices import make_device
from dojo_runtime.estimate import DOJO, estimate

GPT2_SMALL = GptShape(layers=12, d_model=768, heads=12, seq_len=1024, vocab=50304)
BATCH = 32


def _emit(name: str, value: float, unit: str, baseline: float | None = None) -> None:
    bench(name, value, unit, baseline=baseline)


def _samples_per_second(accelerator: str, count: int) -> float:
    calls, grad = gpt_step_profile(GPT2_SMALL, BATCH)
    return BATCH / make_device(accelerator, count, "bf16").run_step(calls, grad)


def main() -> None:
    calls, grad = gpt_step_profile(GPT2_SMALL, BATCH)
    device = make_device("gpu-h100", 8, "bf16")
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        device.run_step(calls, grad)
    elapsed = time.perf_counter() - started
    _emit("cost_model_kernels_per_second", rounds * len(calls) / elapsed, "kernels/s")

    tile = _samples_per_second(DOJO, 1)
    _emit("modelled_speedup_tile_vs_8xa100", tile, "samples/s", _samples_per_second("gpu-a100", 8))
    _emit("modelled_speedup_tile_vs_8xh100", tile, "samples/s", _samples_per_second("gpu-h100", 8))

    config = TrainConfig("gpt", steps=5000, batch_size=BATCH, precision="bf16")
    started = time.perf_counter()
    estimate(config, step_kernels=calls, grad_bytes=grad)
    _emit("estimate_table_ms", (time.perf_counter() - started) * 1e3, "ms")


if __name__ == "__main__":
    main()
