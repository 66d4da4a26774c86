"""The loss of a task, one rule for training, evaluation and the cost trace: cross-entropy on
the first output for classification and language models (next token), mean squared error
for regression (the output and the targets compared as [batch, k])."""

from __future__ import annotations

import torch

from dojo_runtime.catalog.numerics_api import Numerics
from dojo_runtime.data import REGRESSION


def task_loss(nx: Numerics, task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task == REGRESSION:
        return nx.mse(out.reshape(len(out), -1), y.reshape(len(y), -1))
    return nx.cross_entropy(out.flatten(0, -2), y.flatten())
