"""Which format each tensor role is stored in, and how it is rounded, per precision name.

Roles: "weight" (matrices and kernels), "activation" (op inputs and outputs), "gradient"
(every gradient flowing backward), "vector" (1-D parameters: biases, norm gains).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dojo_runtime.formats import (
    BF16,
    CFP8_143,
    CFP8_152,
    CFP16_SHP,
    FP32,
    ROUNDING_MODES,
    FloatFormat,
)

ROLES = ("weight", "activation", "gradient", "vector")


@dataclass(frozen=True)
class NumericsPolicy:
    name: str  # "fp32" | "bf16" | "cfp8" | "cfp16"
    formats: Mapping[str, FloatFormat]  # role -> storage format
    rounding: Mapping[str, str] = field(default_factory=dict)  # role -> mode; default nearest
    cost_precision: str = "fp32"  # KernelCall.precision: the datapath's rate
    bias_decay: float = 0.5  # BiasTracker running-absmax decay
    bias_headroom: int = 0  # extra powers of two kept above the absmax

    def __post_init__(self) -> None:
        missing = [r for r in ROLES if r not in self.formats]
        if missing:
            raise ValueError(f"policy {self.name} lacks formats for {missing}")
        for role, mode in self.rounding.items():
            if role not in ROLES or mode not in ROUNDING_MODES:
                raise ValueError(f"bad rounding {role}={mode}")

    def fmt(self, role: str) -> FloatFormat:
        return self.formats[role]

    def mode(self, role: str) -> str:
        return self.rounding.get(role, "nearest")

    @property
    def storage_bytes(self) -> float:
        """Bytes per element of activations: what kernel traffic is counted at."""
        return self.formats["activation"].storage_bytes


def _all(fmt: FloatFormat, vector: FloatFormat | None = None) -> dict[str, FloatFormat]:
    return {"weight": fmt, "activation": fmt, "gradient": fmt, "vector": vector or fmt}


PRESETS: dict[str, NumericsPolicy] = {
    "fp32": NumericsPolicy("fp32", _all(FP32), cost_precision="fp32"),
    "bf16": NumericsPolicy("bf16", _all(BF16), cost_precision="bf16"),
    # CFP8: 1-4-3 for weights and activations (precision), 1-5-2 for gradients (range),
    # each tensor key with its own bias; 1-D parameters stay in BF16 (see NUMERICS.md).
    # Gradients round to nearest by default (stochastic is an option: gradient_rounding).
    "cfp8": NumericsPolicy(
        "cfp8",
        {"weight": CFP8_143, "activation": CFP8_143, "gradient": CFP8_152, "vector": BF16},
        cost_precision="cfp8",
    ),
    # CFP16 (SHP) everywhere, run at the BF16 rate (the specs assume the same datapath).
    "cfp16": NumericsPolicy("cfp16", _all(CFP16_SHP, BF16), cost_precision="bf16"),
}


def make_policy(precision: str, **options: Any) -> NumericsPolicy:
    """A preset, with options: weight_format / activation_format / gradient_format /
    vector_format (FloatFormat), <role>_rounding (str), bias_decay, bias_headroom,
    denormal_scale ("ieee" | "printed", applied to every CFP format)."""
    if precision not in PRESETS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {sorted(PRESETS)}")
    policy = PRESETS[precision]
    formats = dict(policy.formats)
    rounding = dict(policy.rounding)
    changes: dict[str, Any] = {}
    for key, value in options.items():
        role, _, what = key.rpartition("_")
        if role in ROLES and what == "format":
            formats[role] = value
        elif role in ROLES and what == "rounding":
            rounding[role] = value
        elif key in ("bias_decay", "bias_headroom"):
            changes[key] = value
        elif key != "denormal_scale":
            raise ValueError(f"unknown numerics option {key!r}")
    scale = options.get("denormal_scale")
    if scale is not None:
        formats = {
            r: f.with_options(denormal_scale=scale) if f.bias_configurable else f
            for r, f in formats.items()
        }
    return replace(policy, formats=formats, rounding=rounding, **changes)
