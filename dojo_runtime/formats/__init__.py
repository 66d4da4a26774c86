"""Bit-exact Dojo number formats: FP32, BF16, CFP16 (SHP/UHP) and CFP8 (1-4-3, 1-5-2).

`quantize` rounds float tensors onto a format's grid; `encode`/`decode` convert to and from
bit patterns; `choose_bias`/`BiasTracker` pick the configurable exponent bias. The rules,
and the choices made where the sources are uncertain, are in NUMERICS.md.
"""

from dojo_runtime.formats.bias import BiasTracker, choose_bias, tensor_absmax
from dojo_runtime.formats.codec import code_dtype, decode, encode
from dojo_runtime.formats.rounding import ROUNDING_MODES, quantize
from dojo_runtime.formats.spec import (
    ALL_FORMATS,
    BF16,
    CFP8_143,
    CFP8_152,
    CFP16_SHP,
    CFP16_UHP,
    FORMATS_BY_NAME,
    FP32,
    FloatFormat,
)

__all__ = [
    "ALL_FORMATS",
    "BF16",
    "CFP8_143",
    "CFP8_152",
    "CFP16_SHP",
    "CFP16_UHP",
    "FORMATS_BY_NAME",
    "FP32",
    "ROUNDING_MODES",
    "BiasTracker",
    "FloatFormat",
    "choose_bias",
    "code_dtype",
    "decode",
    "encode",
    "quantize",
    "tensor_absmax",
]
