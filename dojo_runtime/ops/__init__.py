"""Operators with a target's numerics: inputs rounded to the storage format, FP32
accumulation, outputs rounded, gradients rounded to the gradient format.

    numerics = get_numerics("cfp8", seed=7, on_kernel=device.record)
    y = numerics.linear(x, weight, bias)
"""

from dojo_runtime.ops.numerics import KernelSink, Numerics, get_numerics
from dojo_runtime.ops.policy import PRESETS, ROLES, NumericsPolicy, make_policy

__all__ = [
    "PRESETS",
    "ROLES",
    "KernelSink",
    "Numerics",
    "NumericsPolicy",
    "get_numerics",
    "make_policy",
]
