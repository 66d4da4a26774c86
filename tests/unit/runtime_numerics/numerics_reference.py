"""Slow, obviously-correct references the fast format code is checked against."""

from __future__ import annotations

import torch

from dojo_runtime.formats import FloatFormat, decode


def value_table(fmt: FloatFormat, bias: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All non-negative values of an 8-bit format (float64) and their codes, ascending."""
    codes = torch.arange(128 if fmt.signed else 256, dtype=torch.int32).to(torch.uint8)
    values = decode(codes, fmt, bias).double()
    order = torch.argsort(values, stable=True)
    return values[order], codes[order].long()


def nearest_even(x: torch.Tensor, fmt: FloatFormat, bias: int) -> torch.Tensor:
    """Round-to-nearest, ties to the even code, saturating: by search over the table."""
    values, codes = value_table(fmt, bias)
    a = x.double().abs().clamp(max=float(values[-1]))
    hi = torch.searchsorted(values, a).clamp(max=len(values) - 1)
    lo = (hi - 1).clamp(min=0)
    d_lo, d_hi = a - values[lo], values[hi] - a
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (codes[hi] % 2 == 0))
    out = torch.where(pick_hi, values[hi], values[lo])
    return torch.copysign(out, x.double()).float()


def neighbours(x: torch.Tensor, fmt: FloatFormat, bias: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The representable values just below and just above each |x| (float64)."""
    values, _ = value_table(fmt, bias)
    a = x.double().abs()
    hi = torch.searchsorted(values, a).clamp(max=len(values) - 1)
    lo = torch.where(values[hi] == a, hi, (hi - 1).clamp(min=0))
    return values[lo], values[hi]
