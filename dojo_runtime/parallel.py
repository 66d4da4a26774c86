"""Data-parallel ranks: which samples of the global batch a rank trains on, which device it
runs on, and the one all-reduce per step that makes N ranks train as one job.

Pure: the collective is handed in (torch.distributed in the platform's job processes, a
thread barrier in tests); nothing here opens a socket or reads a file.

Every rank draws the same global batch order (the seeded permutation of `data.batching`) and
trains on its contiguous slice of each global batch. Per step one flat float32 buffer is
summed over the ranks: each rank's gradients weighted by its share of the global batch,
its loss and correct predictions, and its stop vote. So the ranks apply the same mean
gradient as one rank would on the whole batch (up to float32 summation order), report the
global batch's loss and accuracy, and all stop after the same step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import torch

_EXTRA = 3  # loss sum, correct count, stop votes: appended to the gradient buffer


class Collective(Protocol):
    """What a rank needs of its group: its place, a sum, and a gather to rank 0."""

    rank: int
    world: int

    def all_reduce_sum(self, buffer: torch.Tensor) -> None: ...  # in place, on every rank
    def gather_bytes(self, data: bytes) -> list[bytes]: ...  # rank 0: every rank's; others: []


@dataclass(frozen=True)
class StepTotals:
    """One step over all ranks: the global batch's mean loss and accuracy, and whether any
    rank asked to stop after it."""

    loss: float
    accuracy: float
    stop: bool


def rank_count(devices: int, batch_size: int) -> int:
    """Ranks for a job of `devices` devices: one per device, but never more ranks than
    samples in the global batch (every rank trains on at least one)."""
    return max(1, min(devices, batch_size))


def shard_bounds(batch_size: int, rank: int, world: int) -> tuple[int, int]:
    """[lo, hi) of the global batch that `rank` of `world` trains on: contiguous, sizes
    differing by at most one, covering the batch exactly once."""
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in a world of {world}")
    if batch_size < world:
        raise ValueError(f"a batch of {batch_size} cannot feed {world} ranks")
    return rank * batch_size // world, (rank + 1) * batch_size // world


def rank_seed(seed: int, rank: int) -> int:
    """The seed of a rank's stochastic rounding: rank 0 keeps the job's seed (one rank
    trains as before), others get distinct streams derived from it."""
    return seed if rank == 0 else (seed * 1_000_003 + rank * 7_919) % (2**63)


def choose_device(kind: str, cuda_devices: int, local_rank: int) -> tuple[str, str]:
    """(torch device, event text) for a rank: GPU-pool jobs on this host's CUDA devices when
    it has some (ranks round-robin over them), everything else on the CPU."""
    if kind == "gpu" and cuda_devices > 0:
        device = f"cuda:{local_rank % cuda_devices}"
        return device, f"training on {device}"
    if kind == "gpu":
        return "cpu", "training on cpu (no CUDA device on this host)"
    return "cpu", "training on cpu (Dojo tiles are emulated on the CPU)"


def gang_devices(kind: str, cuda_devices: int, world: int) -> tuple[list[str], str]:
    """Every rank's device, and one line saying where the gang trains (for the job's
    events): "training on cuda:0, cuda:1", "training on cpu (no CUDA device on this host)"."""
    chosen = [choose_device(kind, cuda_devices, r) for r in range(world)]
    devices = [d for d, _ in chosen]
    if devices[0].startswith("cuda"):
        return devices, "training on " + ", ".join(dict.fromkeys(devices))
    return devices, chosen[0][1]


def reduce_step(
    params: Iterable[torch.nn.Parameter],
    collective: Collective,
    *,
    local_n: int,
    global_n: int,
    loss: torch.Tensor,
    correct: float,
    stop: bool,
) -> StepTotals:
    """Sums the ranks' gradients (weighted by local_n / global_n, in place), losses,
    correct counts and stop votes in one all-reduce. Every rank holds the same parameters,
    so every rank has the same set of gradients, in the same order."""
    grads = [p.grad for p in params if p.grad is not None]
    device = loss.device
    extra = torch.tensor([float(loss) * local_n, correct, 1.0 if stop else 0.0], device=device)
    flat = torch.cat([g.reshape(-1) for g in grads] + [extra])
    flat[:-_EXTRA].mul_(local_n / global_n)
    collective.all_reduce_sum(flat)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n
    totals = flat[-_EXTRA:].tolist()
    return StepTotals(loss=totals[0] / global_n, accuracy=totals[1] / global_n, stop=totals[2] > 0)
