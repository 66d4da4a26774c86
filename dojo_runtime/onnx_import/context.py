"""What an operator implementation sees: the numerics, the node, and helpers shared by the
operator modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dojo_runtime.catalog.numerics_api import Numerics
from dojo_runtime.onnx_import.graph import Node, OnnxImportError

Value = torch.Tensor | None  # None: an omitted optional input
Result = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class OpContext:
    nx: Numerics
    node: Node
    opset: int
    is_parameter: Callable[[torch.Tensor], bool]

    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attrs.get(name, default)

    def fail(self, message: str) -> OnnxImportError:
        return OnnxImportError(f"{self.node.label()}: {message}")


OpFn = Callable[[OpContext, Sequence[Value]], Result]


def need(ctx: OpContext, xs: Sequence[Value], i: int) -> torch.Tensor:
    """Input i, which this operator requires."""
    if i >= len(xs) or xs[i] is None:
        raise ctx.fail(f"input {i} is required")
    value = xs[i]
    assert value is not None
    return value


def ints(t: torch.Tensor) -> list[int]:
    """A shape-like tensor (axes, sizes, starts) as Python ints."""
    return [int(v) for v in t.reshape(-1).tolist()]


def same_device(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Constants live on the CPU; an activation may be on the meta device while costing."""
    if a.device == b.device:
        return a, b
    if a.device.type == "cpu":
        return a.to(b.device), b
    return a, b.to(a.device)


def is_float(t: torch.Tensor) -> bool:
    return t.dtype.is_floating_point
