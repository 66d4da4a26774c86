"""Cost model benchmarks: how fast it models, and what it models for a GPT-2-small step.

cost_model_kernels_per_second       kernels modelled per wall second (a device's run_kernel)
modelled_speedup_tile_vs_8xa100     samples/s of one Dojo tile over a whole 8x A100 node
modelled_speedup_tile_vs_8xh100     the same against an 8x H100 node
estimate_table_ms                   wall ms of the full default estimate table
estimate_uncached_ms                wall ms of an estimate with every cache cleared, as
                                    admission now makes it (memory first; a spec no
                                    device holds is refused before any step is traced),
                                    for a normal spec and for the 4.1e11-parameter GPT
                                    at batch 65,536 CreateJob used to accept; baseline:
                                    the time-only estimate of before, same run
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from benchmarks.report import bench
from dojo_runtime import catalog
from dojo_runtime.catalog import footprint
from dojo_runtime.catalog.samples import OVERSIZED_GPT
from dojo_runtime.config import TrainConfig
from dojo_runtime.cost.workloads import GptShape, gpt_step_profile
from dojo_runtime.devices import make_device
from dojo_runtime.estimate import DOJO, DoesNotFit, estimate, estimate_config

GPT2_SMALL = GptShape(layers=12, d_model=768, heads=12, seq_len=1024, vocab=50304)
BATCH = 32
NORMAL = TrainConfig(
    "gpt",
    {"d_model": 256, "layers": 4, "heads": 8, "context": 256},
    "tiny-shakespeare",
    steps=1000,
    batch_size=16,
    optimizer="adamw",
    precision="bf16",
    device_count=2,
)  # examples/gpt-small-text.yaml


def _emit(name: str, value: float, unit: str, baseline: float | None = None) -> None:
    bench(name, value, unit, baseline=baseline)


def _samples_per_second(accelerator: str, count: int) -> float:
    calls, grad = gpt_step_profile(GPT2_SMALL, BATCH)
    return BATCH / make_device(accelerator, count, "bf16").run_step(calls, grad)


def _uncached_ms(run: Callable[[TrainConfig], object], config: TrainConfig) -> float:
    catalog._cached_profile.cache_clear()
    footprint.cache_clear()
    started = time.perf_counter()
    run(config)
    return (time.perf_counter() - started) * 1e3


def _time_only(config: TrainConfig) -> object:
    """The estimate before admission knew memory: trace the step, model every option."""
    kernels, grad = catalog.step_profile(config)
    return estimate(config, step_kernels=kernels, grad_bytes=grad)


def _admitted(config: TrainConfig) -> object:
    try:
        return estimate_config(config)
    except DoesNotFit as refused:
        return refused


def bench_uncached_estimates(rounds: int = 3) -> None:
    """Median of `rounds` each, after one warm-up (the first trace of a process pays for
    torch's meta kernels being loaded)."""
    _uncached_ms(_admitted, NORMAL)
    for label, config in (("gpt-small-text", NORMAL), ("gpt-4.1e11-batch-65536", OVERSIZED_GPT)):
        before = statistics.median(_uncached_ms(_time_only, config) for _ in range(rounds))
        after = statistics.median(_uncached_ms(_admitted, config) for _ in range(rounds))
        _emit_spec(label, after, before)


def _emit_spec(label: str, value: float, baseline: float) -> None:
    bench("estimate_uncached_ms", value, "ms", baseline=baseline, spec=label)


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
    bench_uncached_estimates()


if __name__ == "__main__":
    main()
