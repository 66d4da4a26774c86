"""Data-parallel ranks in the runtime (pure): the batch shards, the device choice, and N
ranks trained through a collective of threads (the platform's job processes use
torch.distributed; tests/integration/platform/test_execution_ranks.py runs those)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import torch

from dojo_runtime.config import TrainConfig
from dojo_runtime.parallel import (
    choose_device,
    gang_devices,
    rank_count,
    rank_seed,
    shard_bounds,
)
from dojo_runtime.training import Trainer

# N ranks against one rank on the same global batch: float32 sums in another order, so the
# weights differ by rounding only: max abs diff after 20 fp32 steps of the MLP below
# (measured 6.7e-7). Emulated precisions round each op to their format, which turns such
# differences into format-sized steps; they are held to bit-identical resume, not to this.
RANK_TOLERANCE = 1e-5


@pytest.mark.parametrize(
    ("batch", "world", "expected"),
    [
        (16, 1, [(0, 16)]),
        (16, 2, [(0, 8), (8, 16)]),
        (10, 3, [(0, 3), (3, 6), (6, 10)]),
        (4, 4, [(0, 1), (1, 2), (2, 3), (3, 4)]),
    ],
)
def test_shards_cover_the_batch_once(
    batch: int, world: int, expected: list[tuple[int, int]]
) -> None:
    assert [shard_bounds(batch, r, world) for r in range(world)] == expected


@pytest.mark.parametrize(("batch", "rank", "world"), [(2, 0, 3), (8, 2, 2), (8, -1, 2), (8, 0, 0)])
def test_impossible_shards_are_refused(batch: int, rank: int, world: int) -> None:
    with pytest.raises(ValueError):
        shard_bounds(batch, rank, world)


@pytest.mark.parametrize(
    ("devices", "batch", "ranks"), [(1, 16, 1), (2, 16, 2), (6, 4, 4), (0, 16, 1)]
)
def test_rank_count(devices: int, batch: int, ranks: int) -> None:
    assert rank_count(devices, batch) == ranks


def test_rank_seeds_keep_rank_zero_and_differ() -> None:
    assert rank_seed(7, 0) == 7
    assert len({rank_seed(7, r) for r in range(8)}) == 8


@pytest.mark.parametrize(
    ("kind", "cuda", "rank", "device", "text"),
    [
        ("gpu", 0, 0, "cpu", "training on cpu (no CUDA device on this host)"),
        ("gpu", 2, 0, "cuda:0", "training on cuda:0"),
        ("gpu", 2, 3, "cuda:1", "training on cuda:1"),
        ("dojo", 4, 1, "cpu", "training on cpu (Dojo tiles are emulated on the CPU)"),
    ],
)
def test_device_choice(kind: str, cuda: int, rank: int, device: str, text: str) -> None:
    assert choose_device(kind, cuda, rank) == (device, text)


def test_gang_devices_name_every_cuda_device_once() -> None:
    assert gang_devices("gpu", 2, 4) == (
        ["cuda:0", "cuda:1", "cuda:0", "cuda:1"],
        "training on cuda:0, cuda:1",
    )
    assert gang_devices("gpu", 0, 2)[0] == ["cpu", "cpu"]


class _Group:
    def __init__(self, world: int) -> None:
        self.world = world
        self.barrier = threading.Barrier(world, timeout=60)
        self.slots: list[Any] = [None] * world


class ThreadCollective:
    """Ranks as threads: sums in rank order, so every rank gets the same bits."""

    def __init__(self, group: _Group, rank: int) -> None:
        self.group, self.rank, self.world = group, rank, group.world

    def _exchange(self, value: Any) -> list[Any]:
        self.group.slots[self.rank] = value
        self.group.barrier.wait()
        everyone = list(self.group.slots)
        self.group.barrier.wait()
        return everyone

    def all_reduce_sum(self, buffer: torch.Tensor) -> None:
        parts = self._exchange(buffer.clone())
        total = parts[0].clone()
        for part in parts[1:]:
            total += part
        buffer.copy_(total)

    def gather_bytes(self, data: bytes) -> list[bytes]:
        everyone = self._exchange(data)
        return everyone if self.rank == 0 else []


def _config(precision: str = "fp32", **kw: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "architecture": "mlp",
        "model_params": {"hidden": 32, "layers": 2},
        "batch_size": 16,
        "learning_rate": 0.01,
        "precision": precision,
        "seed": 5,
        "device_count": 2,
    }
    return TrainConfig(**{**base, **kw})


def _on_ranks(world: int, work: Callable[[Trainer], Any], config: TrainConfig) -> list[Any]:
    group = _Group(world)
    results: list[Any] = [None] * world
    errors: list[BaseException] = []

    def run(rank: int) -> None:
        try:
            results[rank] = work(Trainer(config, collective=ThreadCollective(group, rank)))
        except BaseException as exc:
            errors.append(exc)
            group.barrier.abort()

    threads = [threading.Thread(target=run, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _weights(trainer: Trainer, state: Any) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in state.model.state_dict().items()}


def test_two_ranks_match_one_rank_within_the_tolerance() -> None:
    config = _config()
    one = Trainer(config)
    alone = one.train(one.initial_state(), 20).model.state_dict()
    ranks = _on_ranks(2, lambda t: _weights(t, t.train(t.initial_state(), 20)), config)
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in alone)  # ranks stay in step
    diff = max(float((ranks[0][k] - alone[k]).abs().max()) for k in alone)
    assert diff <= RANK_TOLERANCE, diff
    assert any(not torch.equal(ranks[0][k], alone[k]) for k in alone) or diff == 0.0


@pytest.mark.parametrize("precision", ["fp32", "cfp8"])
def test_two_ranks_resume_bit_identically(precision: str) -> None:
    config = _config(precision)

    def straight(t: Trainer) -> dict[str, torch.Tensor]:
        return _weights(t, t.train(t.initial_state(), 12))

    def segmented(t: Trainer) -> tuple[bytes, int]:
        return t.snapshot(t.train(t.initial_state(), 5)), t.rank

    first = _on_ranks(2, straight, config)
    blobs = _on_ranks(2, segmented, config)
    blob = blobs[0][0]
    assert blob and blobs[1][0] == b""  # rank 0 holds the checkpoint

    def resumed(t: Trainer) -> dict[str, torch.Tensor]:
        return _weights(t, t.train(t.restore(blob), 12))

    second = _on_ranks(2, resumed, config)
    for k in first[0]:
        assert torch.equal(first[0][k], second[0][k]), k
        assert torch.equal(first[1][k], second[1][k]), k


def test_any_rank_stopping_stops_every_rank_after_the_same_step() -> None:
    def work(t: Trainer) -> int:
        calls = {"n": 0}

        def should_stop() -> bool:
            calls["n"] += 1
            return t.rank == 1 and calls["n"] >= 3

        return t.train(t.initial_state(), 50, should_stop=should_stop).step

    assert _on_ranks(2, work, _config()) == [3, 3]


def test_reported_loss_is_the_global_batch_mean() -> None:
    config = _config()
    one = Trainer(config)
    losses: list[float] = []
    one.train(one.initial_state(), 3, on_step=lambda m: losses.append(m.loss))

    def work(t: Trainer) -> list[float]:
        seen: list[float] = []
        t.train(t.initial_state(), 3, on_step=lambda m: seen.append(m.loss))
        return seen

    ranks = _on_ranks(2, work, config)
    assert ranks[0] == ranks[1]
    assert ranks[0] == pytest.approx(losses, rel=1e-4)
