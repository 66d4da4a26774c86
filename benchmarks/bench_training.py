"""The training engine's own costs, measured in one run.

* engine_loop_overhead: samples/s of Trainer.train (catalog model through the fp32 ops,
  seeded batching, per-step metrics callback) over a hand-written plain PyTorch loop of the
  same MLP on the same batches; ratio = engine / bare (1.0 means no overhead).
* engine_samples_per_second_<arch>_<precision>: wall throughput of each catalog model.
* engine_checkpoint_seconds: snapshot + restore of the digits MLP (what a segment adds).
* engine_step_profile_seconds: profiling a GPT-3-sized step on meta tensors (estimates).
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.report import bench
from dojo_runtime.catalog import step_profile
from dojo_runtime.catalog.samples import sample_models
from dojo_runtime.config import StepMetrics, TrainConfig
from dojo_runtime.training import Trainer

DIGITS_MLP = TrainConfig(
    "mlp", {"hidden": 128, "layers": 2}, "digits", batch_size=64, learning_rate=3e-3, seed=7
)
MODELS = sample_models(d_model=64, layers=2, heads=4, context=64, mlp_hidden=128)


def _engine_sps(config: TrainConfig, steps: int) -> float:
    trainer = Trainer(config)
    state = trainer.train(trainer.initial_state(), 5)  # warm-up
    seen: list[StepMetrics] = []
    t0 = time.perf_counter()
    trainer.train(state, 5 + steps, on_step=seen.append)
    return config.batch_size * steps / (time.perf_counter() - t0)


def _bare_sps(config: TrainConfig, steps: int) -> float:
    trainer = Trainer(config)  # only for its batches: the same data, the same order
    batches = [trainer.data.next_batch() for _ in range(steps + 5)]
    torch.manual_seed(config.seed)
    h = config.model_params["hidden"]
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(64, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    t0 = 0.0
    for i, (x, y) in enumerate(batches):
        if i == 5:
            t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss.detach())  # the engine reads the loss every step for its metrics
    return config.batch_size * steps / (time.perf_counter() - t0)


def _loop_overhead() -> None:
    engine, bare = [], []
    for _ in range(3):  # interleaved, so load changes hit both alike
        engine.append(_engine_sps(DIGITS_MLP, 300))
        bare.append(_bare_sps(DIGITS_MLP, 300))
    e, b = statistics.median(engine), statistics.median(bare)
    bench("engine_loop_overhead", e, "samples/s", baseline=b, ratio=e / b)


def _catalog_throughput() -> None:
    for arch, (params, dataset) in MODELS.items():
        for precision in ("fp32", "bf16", "cfp8"):
            config = TrainConfig(arch, params, dataset, batch_size=32, precision=precision)
            sps = _engine_sps(config, 20)
            modelled = config.batch_size / Trainer(config).step_seconds
            bench(
                f"engine_samples_per_second_{arch}_{precision}",
                sps,
                "samples/s",
                modelled_dojo_tile_samples_per_second=round(modelled, 1),
            )


def _checkpoint_cost() -> None:
    trainer = Trainer(DIGITS_MLP)
    state = trainer.train(trainer.initial_state(), 10)
    t0 = time.perf_counter()
    for _ in range(20):
        blob = trainer.snapshot(state)
        trainer.restore(blob)
    bench("engine_checkpoint_seconds", (time.perf_counter() - t0) / 20, "s", bytes=len(blob))


def _profile_cost() -> None:
    gpt3 = TrainConfig(
        "gpt",
        {"d_model": 12288, "layers": 96, "heads": 96, "context": 2048},
        "synthetic-text",
        batch_size=8,
        precision="bf16",
    )
    t0 = time.perf_counter()
    kernels, _ = step_profile(gpt3)
    bench("engine_step_profile_seconds", time.perf_counter() - t0, "s", kernels=len(kernels))


def main() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread beats two contending ones
    try:
        _loop_overhead()
        _catalog_throughput()
        _checkpoint_cost()
        _profile_cost()
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
