"""The rank gang's process group: rendezvous at the worker's c10d TCPStore, then gloo (CPU)
or NCCL (CUDA) collectives behind the runtime's `parallel.Collective` protocol.

The worker hosts the store (`host_store`, bound to a free port) and publishes its address in
every rank's order; a rank joins with `join`. Single-node: the store listens on loopback and
the ranks talk over it. Multi-node (not built) would run one gang per node, each rank told
the global rank, world size and a store address the platform publishes for the job.

No Django, no database: this runs in job processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

LOOPBACK = "127.0.0.1"


class PeerLost(RuntimeError):
    """A collective failed: another rank is gone (or timed out). Not this rank's fault."""


@dataclass(frozen=True)
class Rendezvous:
    """Where a gang's ranks meet: a TCPStore's address, and how long a rank waits for the
    others (at the rendezvous and in every collective) before giving up."""

    host: str
    port: int
    timeout_s: float


def host_store(timeout_s: float, host: str = LOOPBACK) -> tuple[dist.TCPStore, Rendezvous]:
    """A TCPStore server on a free port of `host` (the worker keeps it for the segment)."""
    store = dist.TCPStore(host, 0, None, True, timedelta(seconds=timeout_s), wait_for_workers=False)
    return store, Rendezvous(host, int(store.port), timeout_s)


def backend_for(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


class TorchCollective:
    """One rank of a torch.distributed group (see module docstring)."""

    def __init__(self, rendezvous: Rendezvous, rank: int, world: int, device: str) -> None:
        self.rank, self.world, self.device = rank, world, torch.device(device)
        if rendezvous.host == LOOPBACK:  # one node: gloo and NCCL's bootstrap on loopback
            os.putenv("GLOO_SOCKET_IFNAME", "lo")
            os.putenv("NCCL_SOCKET_IFNAME", "lo")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        timeout = timedelta(seconds=rendezvous.timeout_s)
        store = dist.TCPStore(rendezvous.host, rendezvous.port, None, False, timeout)
        dist.init_process_group(
            backend_for(device), store=store, rank=rank, world_size=world, timeout=timeout
        )

    def all_reduce_sum(self, buffer: torch.Tensor) -> None:
        try:
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
        except RuntimeError as exc:  # gloo and NCCL report a lost peer as RuntimeError
            raise PeerLost(f"all-reduce failed: {exc}") from exc

    def gather_bytes(self, data: bytes) -> list[bytes]:
        """Every rank's bytes on rank 0 (all_gather of padded uint8 tensors: gloo and NCCL
        both have it)."""
        try:
            size = torch.tensor([len(data)], dtype=torch.int64, device=self.device)
            sizes = [torch.zeros_like(size) for _ in range(self.world)]
            dist.all_gather(sizes, size)
            longest = int(max(int(s) for s in sizes))
            mine = torch.zeros(longest, dtype=torch.uint8, device=self.device)
            if data:
                mine[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            everyone = [torch.zeros_like(mine) for _ in range(self.world)]
            dist.all_gather(everyone, mine)
        except RuntimeError as exc:
            raise PeerLost(f"gather failed: {exc}") from exc
        if self.rank != 0:
            return []
        return [
            bytes(t[: int(s)].cpu().numpy().tobytes()) for t, s in zip(everyone, sizes, strict=True)
        ]

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()
