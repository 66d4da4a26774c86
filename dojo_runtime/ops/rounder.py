"""Rounding of tensors to their role's storage format, with gradient rounding in backward.

`Rounder.__call__(x, role, key)` returns x rounded to the role's format; through autograd the
rounding is straight-through (identity derivative) and the incoming gradient is itself rounded
to the gradient format. Each key (op and shape) keeps its own running-absmax bias.

A rounded tensor is tagged with its format's name, so an op reading the output of another op
in the same format, or a view of it, does not round it again (it is already stored in that
format; a slice of a tensor is representable with the whole tensor's bias).
"""

from __future__ import annotations

from typing import Any

import torch

from dojo_runtime.formats import BF16, FP32, BiasTracker, FloatFormat, quantize
from dojo_runtime.ops.policy import ROLES, NumericsPolicy

_TAG = "_dojo_fmt"


def tag(x: torch.Tensor, fmt_name: str) -> torch.Tensor:
    setattr(x, _TAG, fmt_name)
    return x


def is_tagged(x: torch.Tensor, fmt_name: str) -> bool:
    """x, or the tensor x is a view of (a slice, a reshape), is stored in the format."""
    if getattr(x, _TAG, None) == fmt_name:
        return True
    base = x._base
    return base is not None and getattr(base, _TAG, None) == fmt_name


class _RoundStraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, rounder: Rounder, role: str, key: str) -> torch.Tensor:
        ctx.rounder = rounder
        ctx.key = key
        return rounder.round_value(x, role, key)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        return ctx.rounder.round_value(grad, "gradient", ctx.key), None, None, None


class Rounder:
    def __init__(self, policy: NumericsPolicy, generator: torch.Generator) -> None:
        self.policy = policy
        self.generator = generator
        self.trackers: dict[str, BiasTracker] = {
            role: BiasTracker(
                policy.fmt(role), decay=policy.bias_decay, headroom=policy.bias_headroom
            )
            for role in ROLES
            if policy.fmt(role).bias_configurable
        }
        # BF16 storage with BF16 gradients, both round-to-nearest: PyTorch's own casts do it
        # (the backward of a bf16 cast casts the gradient), which costs almost nothing.
        native_grads = policy.fmt("gradient") is BF16 and policy.mode("gradient") == "nearest"
        # role -> (format, rounding mode, how: "keep" | "bf16_cast" | "emulate"), resolved
        # once: this runs for every tensor of every op.
        self._plan: dict[str, tuple[FloatFormat, str, str]] = {}
        for role in ROLES:
            fmt, mode = policy.fmt(role), policy.mode(role)
            if fmt is FP32:
                how = "keep"
            elif fmt is BF16 and mode == "nearest" and native_grads:
                how = "bf16_cast"
            else:
                how = "emulate"
            self._plan[role] = (fmt, mode, how)

    def round_value(self, x: torch.Tensor, role: str, key: str) -> torch.Tensor:
        """x rounded to the role's format (no autograd), updating the key's bias."""
        fmt, mode, _ = self._plan[role]
        tracker = self.trackers.get(role)
        bias = tracker.update(role + "/" + key, x) if tracker is not None else None
        return quantize(x.detach(), fmt, bias, rounding=mode, generator=self.generator)

    def __call__(self, x: torch.Tensor, role: str, key: str) -> torch.Tensor:
        fmt, _, how = self._plan[role]
        if how == "keep" or is_tagged(x, fmt.name):
            return x
        if how == "bf16_cast":
            y = x.float().to(torch.bfloat16).float()
        elif torch.is_grad_enabled() and x.requires_grad:
            # Function.apply is unannotated in torch; it returns forward's Tensor.
            y = _RoundStraightThrough.apply(x, self, role, key)  # type: ignore[no-untyped-call]
        else:
            y = self.round_value(x, role, key)
        setattr(y, _TAG, fmt.name)
        return y

    def state_dict(self) -> dict[str, Any]:
        return {role: t.state_dict() for role, t in self.trackers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for role, tracker_state in state.items():
            if role in self.trackers:
                self.trackers[role].load_state_dict(tracker_state)
