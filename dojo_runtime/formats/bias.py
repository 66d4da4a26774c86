"""Exponent-bias selection for the configurable formats (CFP8, CFP16).

The whitepaper sets the bias per parameter class (weights, activations, gradients) and says
the values "can be learnt during the training"; the mechanism is not public. Ours: each
tensor key keeps a running absolute maximum, `running = max(absmax, decay * running)`, and
the bias is the largest one whose range still holds `running * 2^headroom` (largest bias =
finest resolution near zero). See NUMERICS.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from dojo_runtime.formats.spec import FloatFormat


def choose_bias(absmax: float, fmt: FloatFormat, *, headroom: int = 0) -> int:
    """Largest bias whose max value covers `absmax * 2**headroom` (exact, no float log)."""
    if not fmt.bias_configurable:
        return fmt.default_bias
    if absmax == 0.0:
        return fmt.default_bias
    if not math.isfinite(absmax):
        return fmt.bias_min
    f, k = math.frexp(abs(absmax))  # absmax = f * 2^k, 0.5 <= f < 1
    k += headroom
    top_mantissa = 2.0 - 2.0**-fmt.man_bits  # max_value(b) = top_mantissa * 2^(F - b)
    # Need 2^(F - b - k) >= f / top_mantissa, which lies in [0.25, 1).
    d = -1 if f / top_mantissa <= 0.5 else 0
    b = fmt.max_exp_field - k - d
    return max(fmt.bias_min, min(fmt.bias_max, b))


def tensor_absmax(x: torch.Tensor) -> float:
    """max |x| as a Python float (one pass, no temporary; NaN if x holds a NaN)."""
    if x.numel() == 0:
        return 0.0
    lo, hi = torch.aminmax(x.detach())
    return float(torch.maximum(hi, lo.neg()))  # NaN if x holds a NaN


class BiasTracker:
    """Running absmax per tensor key -> bias, for one tensor role and its format."""

    def __init__(self, fmt: FloatFormat, *, decay: float = 0.5, headroom: int = 0) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        self.fmt = fmt
        self.decay = decay
        self.headroom = headroom
        self._running: dict[str, float] = {}

    def observe(self, key: str, absmax: float) -> int:
        """Fold `absmax` into the key's running maximum and return the bias to use now."""
        prev = self._running.get(key, 0.0)
        running = max(absmax, self.decay * prev) if math.isfinite(absmax) else prev
        self._running[key] = running
        return choose_bias(running, self.fmt, headroom=self.headroom)

    def update(self, key: str, x: torch.Tensor) -> int:
        return self.observe(key, tensor_absmax(x))

    def bias(self, key: str) -> int:
        """Bias for `key` from its running maximum, without observing anything new."""
        return choose_bias(self._running.get(key, 0.0), self.fmt, headroom=self.headroom)

    def running_absmax(self) -> Mapping[str, float]:
        return dict(self._running)

    def state_dict(self) -> dict[str, Any]:
        return {"running": dict(self._running), "decay": self.decay, "headroom": self.headroom}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._running = {str(k): float(v) for k, v in state["running"].items()}
        self.decay = float(state.get("decay", self.decay))
        self.headroom = int(state.get("headroom", self.headroom))
