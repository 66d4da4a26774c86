"""Numerics tests run PyTorch on one thread: their tensors are tiny, and on a shared
machine intra-op threads only add synchronisation (measured: ~10x slower with 2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
