"""Bit patterns: encode float tensors to a format's integer codes and decode them back.

Code layout, most significant bit first: [sign][exponent field][mantissa field]; unsigned
formats have no sign bit. CFP8 codes are uint8; wider formats use int32 holding the pattern
in its low bits (FP32: the float's own int32 view).
"""

from __future__ import annotations

import torch

from dojo_runtime.formats.rounding import quantize
from dojo_runtime.formats.spec import FloatFormat


def code_dtype(fmt: FloatFormat) -> torch.dtype:
    return torch.uint8 if fmt.total_bits <= 8 else torch.int32


def encode(
    x: torch.Tensor,
    fmt: FloatFormat,
    bias: int | None = None,
    *,
    rounding: str = "nearest",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Round `x` to `fmt` and return the integer codes of the results."""
    b = fmt.resolve_bias(bias)
    y = quantize(x, fmt, b, rounding=rounding, generator=generator)
    bits = y.view(torch.int32)
    if fmt.ieee_specials:
        shift = 23 - fmt.man_bits
        if shift == 0:
            return bits.clone()
        return bits.bitwise_right_shift(shift).bitwise_and_((1 << fmt.total_bits) - 1)
    m = fmt.man_bits
    mag = y.abs()
    mag_bits = mag.view(torch.int32)
    field = mag_bits.bitwise_right_shift(23) + (b - 127)
    mant = mag_bits.bitwise_right_shift(23 - m).bitwise_and_((1 << m) - 1)
    # Denormals (and zero): field 0, mantissa = value / grid step (exact integers).
    den = mag < fmt.min_normal(b)
    den_mant = (mag * 2.0 ** (m - fmt.denormal_exp(b))).to(torch.int32)
    field = field.masked_fill_(den, 0)
    mant = torch.where(den, den_mant, mant)
    code = field.bitwise_left_shift_(m).bitwise_or_(mant)
    if fmt.signed:
        sign = bits.bitwise_right_shift(31).bitwise_and_(1)
        code = code.bitwise_or_(sign.bitwise_left_shift_(fmt.exp_bits + m))
    return code.to(code_dtype(fmt))


def decode(codes: torch.Tensor, fmt: FloatFormat, bias: int | None = None) -> torch.Tensor:
    """Float32 values of integer `codes` in `fmt` (with `bias`)."""
    if codes.dtype.is_floating_point or codes.dtype == torch.bool:
        raise TypeError("decode takes integer codes")
    c = codes.to(torch.int32)
    limit = 1 << fmt.total_bits
    if fmt.total_bits < 32 and bool(((c < 0) | (c >= limit)).any()):
        raise ValueError(f"codes outside 0..{limit - 1} for {fmt.name}")
    if fmt.ieee_specials:
        return c.bitwise_left_shift(23 - fmt.man_bits).view(torch.float32)
    b = fmt.resolve_bias(bias)
    m, e = fmt.man_bits, fmt.exp_bits
    mant = c.bitwise_and((1 << m) - 1)
    field = c.bitwise_right_shift(m).bitwise_and_((1 << e) - 1)
    normal_bits = (field + (127 - b)).bitwise_left_shift_(23)
    normal = normal_bits.bitwise_or_(mant.bitwise_left_shift(23 - m)).view(torch.float32)
    if fmt.denormals:
        den = mant.float().mul_(2.0 ** (fmt.denormal_exp(b) - m))
    else:
        den = torch.zeros_like(normal)  # denormal codes read as zero (flushed)
    val = torch.where(field == 0, den, normal)
    if fmt.signed:
        negative = c.bitwise_right_shift(e + m).bitwise_and_(1).bool()
        val = torch.where(negative, -val, val)
    return val
