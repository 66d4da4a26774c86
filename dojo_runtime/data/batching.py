"""Deterministic, seeded batching whose position is part of the checkpoint.

Each epoch visits the training samples (or text windows) in a permutation drawn from
(seed, epoch) alone, so a restored position replays exactly what an uninterrupted run
would have drawn: the position is just (epoch, cursor).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from dojo_runtime.data.info import LANGUAGE_MODEL, DataInfo

Batch = tuple[torch.Tensor, torch.Tensor]


class Dataset:
    """Training batches in a seeded order, and the held-out split for evaluation."""

    def __init__(
        self,
        info: DataInfo,
        train: Batch,
        held_out: Batch,
        *,
        seed: int,
        batch_size: int,
    ) -> None:
        if batch_size > info.train_size:
            raise ValueError(
                f"training.batch_size: {batch_size} is more than the {info.train_size} "
                f"training samples of dataset {info.name}"
            )
        self.info = info
        self.batch_size = batch_size
        self._seed = seed
        self._train = train
        self._held_out = held_out
        self._epoch = 0
        self._cursor = 0
        self._order = self._permutation(0)
        self._shard = (0, batch_size)  # [lo, hi) of each global batch this rank trains on

    def set_shard(self, lo: int, hi: int) -> None:
        """Train on samples [lo, hi) of each global batch (a data-parallel rank's slice);
        the position stays the global batch's, the same on every rank."""
        if not 0 <= lo < hi <= self.batch_size:
            raise ValueError(f"shard [{lo}, {hi}) is not inside a batch of {self.batch_size}")
        self._shard = (lo, hi)

    @property
    def shard_size(self) -> int:
        return self._shard[1] - self._shard[0]

    # -- position ----------------------------------------------------------------------
    def position(self) -> dict[str, int]:
        return {"epoch": self._epoch, "cursor": self._cursor}

    def set_position(self, position: dict[str, int]) -> None:
        epoch, cursor = int(position["epoch"]), int(position["cursor"])
        if epoch < 0 or not 0 <= cursor <= self.info.train_size:
            raise ValueError(f"invalid data position {position}")
        if epoch != self._epoch:
            self._order = self._permutation(epoch)
        self._epoch, self._cursor = epoch, cursor

    # -- batches -----------------------------------------------------------------------
    def next_batch(self) -> Batch:
        # The tail that cannot fill a batch is dropped, so every step sees the same shape.
        if self._cursor + self.batch_size > self.info.train_size:
            self._epoch += 1
            self._cursor = 0
            self._order = self._permutation(self._epoch)
        lo, hi = self._shard
        idx = self._order[self._cursor + lo : self._cursor + hi]
        self._cursor += self.batch_size
        return self._gather(self._train, idx)

    def eval_batches(self, batch_size: int = 256) -> Iterator[Batch]:
        """The held-out split in order: samples, or non-overlapping text windows."""
        if self.info.task == LANGUAGE_MODEL:
            starts = torch.arange(0, self.info.eval_size * self._window, self._window)
        else:
            starts = torch.arange(self.info.eval_size)
        for chunk in torch.split(starts, batch_size):
            yield self._gather(self._held_out, chunk)

    # -- internals ---------------------------------------------------------------------
    @property
    def _window(self) -> int:
        return self.info.input_shape[0]

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed((self._seed * 1_000_003 + epoch) % (2**63))
        return torch.randperm(self.info.train_size, generator=g)

    def _gather(self, split: Batch, idx: torch.Tensor) -> Batch:
        x, y = split
        if self.info.task != LANGUAGE_MODEL:
            return x[idx], y[idx]
        # Language model: x holds the token stream; a sample is the window at idx.
        pos = idx[:, None] + torch.arange(self._window + 1)[None, :]
        w = x[pos]
        return w[:, :-1], w[:, 1:]
