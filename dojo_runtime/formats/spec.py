"""Floating-point format descriptions: FP32, BF16 and Tesla's configurable CFP16 / CFP8.

A `FloatFormat` is a plain frozen description; rounding lives in `rounding.py`, bit
patterns in `codec.py`. The choices where the specs are uncertain (denormal scale, UHP
details) are fields here with the defaults explained in NUMERICS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DENORMAL_SCALES = ("ieee", "printed")


@dataclass(frozen=True, slots=True)
class FloatFormat:
    name: str
    exp_bits: int
    man_bits: int  # stored mantissa bits (precision is man_bits + 1)
    signed: bool = True
    default_bias: int = 127
    bias_configurable: bool = False
    bias_min: int = 0
    bias_max: int = 63
    ieee_specials: bool = False  # True: all-ones exponent is Inf/NaN (FP32, BF16)
    denormals: bool = True  # False: denormal results flush to zero (and decode as 0)
    denormal_scale: str = "ieee"  # "ieee": 0.m x 2^(1-bias); "printed": 0.m x 2^(-bias)

    def __post_init__(self) -> None:
        if self.denormal_scale not in DENORMAL_SCALES:
            raise ValueError(f"denormal_scale must be one of {DENORMAL_SCALES}")
        if self.exp_bits < 1 or self.man_bits < 0:
            raise ValueError("exp_bits must be >= 1 and man_bits >= 0")

    # --- sizes -----------------------------------------------------------------------------
    @property
    def total_bits(self) -> int:
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def storage_bytes(self) -> float:
        return self.total_bits / 8

    @property
    def max_exp_field(self) -> int:
        """Largest exponent field that encodes a finite normal number."""
        all_ones = (1 << self.exp_bits) - 1
        return all_ones - 1 if self.ieee_specials else all_ones

    # --- ranges for a given bias -------------------------------------------------------------
    def resolve_bias(self, bias: int | None) -> int:
        if bias is None:
            return self.default_bias
        b = int(bias)
        if not self.bias_configurable:
            if b != self.default_bias:
                raise ValueError(f"{self.name} has a fixed bias of {self.default_bias}")
            return b
        if not self.bias_min <= b <= self.bias_max:
            raise ValueError(f"{self.name} bias {b} outside {self.bias_min}..{self.bias_max}")
        return b

    def emin(self, bias: int | None = None) -> int:
        """Unbiased exponent of the smallest normal number."""
        return 1 - self.resolve_bias(bias)

    def emax(self, bias: int | None = None) -> int:
        """Unbiased exponent of the largest normal number."""
        return self.max_exp_field - self.resolve_bias(bias)

    def denormal_exp(self, bias: int | None = None) -> int:
        """Exponent e such that a denormal's value is mantissa_field x 2^(e - man_bits)."""
        offset = 1 if self.denormal_scale == "ieee" else 0
        return offset - self.resolve_bias(bias)

    def max_value(self, bias: int | None = None) -> float:
        return (2.0 - 2.0**-self.man_bits) * 2.0 ** self.emax(bias)

    def min_normal(self, bias: int | None = None) -> float:
        return 2.0 ** self.emin(bias)

    def min_denormal(self, bias: int | None = None) -> float:
        if not self.denormals:
            return self.min_normal(bias)
        return 2.0 ** (self.denormal_exp(bias) - self.man_bits)

    def with_options(self, **changes: object) -> FloatFormat:
        """A variant, e.g. `CFP8_143.with_options(denormal_scale="printed")`."""
        return replace(self, **changes)  # type: ignore[arg-type]


FP32 = FloatFormat("fp32", 8, 23, default_bias=127, ieee_specials=True)
BF16 = FloatFormat("bf16", 8, 7, default_bias=127, ieee_specials=True)
# CFP16 "signed half precision": 1-5-10, configurable 6-bit bias, no Inf/NaN.
CFP16_SHP = FloatFormat("cfp16_shp", 5, 10, default_bias=15, bias_configurable=True)
# CFP16 "unsigned half precision": 0-6-10. Bias 31 as read from the whitepaper's table,
# configurable here; denormals flushed to zero (the source's sentence is cut off).
CFP16_UHP = FloatFormat(
    "cfp16_uhp", 6, 10, signed=False, default_bias=31, bias_configurable=True, denormals=False
)
# CFP8: 1-4-3 (weights, activations) and 1-5-2 (gradients), configurable 6-bit bias.
CFP8_143 = FloatFormat("cfp8_143", 4, 3, default_bias=7, bias_configurable=True)
CFP8_152 = FloatFormat("cfp8_152", 5, 2, default_bias=15, bias_configurable=True)

ALL_FORMATS = (FP32, BF16, CFP16_SHP, CFP16_UHP, CFP8_143, CFP8_152)
FORMATS_BY_NAME = {f.name: f for f in ALL_FORMATS}
