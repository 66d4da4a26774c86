"""CFP8 (1-4-3 and 1-5-2): exhaustive over all 256 codes for several biases."""

from __future__ import annotations

import pytest
import torch

from dojo_runtime.formats import CFP8_143, CFP8_152, FloatFormat, decode, encode, quantize
from tests.unit.runtime_numerics.numerics_reference import nearest_even, neighbours

LAYOUTS = [
    CFP8_143,
    CFP8_152,
    CFP8_143.with_options(denormal_scale="printed"),
    CFP8_152.with_options(denormal_scale="printed"),
]
BIASES = [0, 1, 7, 15, 31, 48, 63]
ALL_CODES = torch.arange(256, dtype=torch.int32).to(torch.uint8)


def _id(fmt: FloatFormat) -> str:
    return f"{fmt.name}-{fmt.denormal_scale}"


@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("fmt", LAYOUTS, ids=_id)
def test_decode_then_encode_is_identity_for_all_codes(fmt: FloatFormat, bias: int) -> None:
    values = decode(ALL_CODES, fmt, bias)
    assert torch.isfinite(values).all()  # no Inf or NaN codes
    assert torch.equal(encode(values, fmt, bias), ALL_CODES)
    assert torch.equal(quantize(values, fmt, bias), values)  # every code is representable


@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("fmt", LAYOUTS, ids=_id)
def test_ordering_is_monotonic_and_sign_symmetric(fmt: FloatFormat, bias: int) -> None:
    values = decode(ALL_CODES, fmt, bias)
    positive, negative = values[:128], values[128:]
    assert (positive[1:] > positive[:-1]).all()
    assert torch.equal(negative, -positive)
    assert str(values[128].item()) == "-0.0" and values[0].item() == 0.0


@pytest.mark.parametrize("bias", BIASES)
@pytest.mark.parametrize("fmt", [CFP8_143, CFP8_152], ids=_id)
def test_range_and_denormals_as_documented(fmt: FloatFormat, bias: int) -> None:
    m, e = fmt.man_bits, fmt.exp_bits
    values = decode(ALL_CODES, fmt, bias).double()
    top_mantissa = 1.875 if fmt is CFP8_143 else 1.75
    top_exp = 15 if fmt is CFP8_143 else 31
    assert values[127].item() == top_mantissa * 2.0 ** (top_exp - bias)  # all-ones is normal
    assert values[1].item() == 2.0 ** (1 - bias - m)  # smallest denormal
    assert values[1 << m].item() == 2.0 ** (1 - bias)  # smallest normal
    # Gradual underflow: denormals continue the smallest normal binade's spacing.
    den = values[: (1 << m) + 1]
    assert torch.allclose(
        den[1:] - den[:-1], torch.full((1 << m,), 2.0 ** (1 - bias - m), dtype=torch.float64)
    )
    assert values[(1 << (e + m)) - 1].item() == fmt.max_value(bias)


@pytest.mark.parametrize("bias", [0, 31, 63])
def test_printed_denormal_scale_leaves_a_gap_below_min_normal(bias: int) -> None:
    fmt = CFP8_143.with_options(denormal_scale="printed")
    values = decode(ALL_CODES, fmt, bias).double()
    assert values[1].item() == 2.0 ** (-bias - 3)
    assert values[7].item() == 0.875 * 2.0**-bias
    assert values[8].item() == 2.0 ** (1 - bias)


@pytest.mark.parametrize("bias", [0, 7, 31, 63])
@pytest.mark.parametrize("fmt", [CFP8_143, CFP8_152], ids=_id)
def test_saturation_of_overflow_inf_and_nan(fmt: FloatFormat, bias: int) -> None:
    top = fmt.max_value(bias)
    x = torch.tensor([top * 1.01, top * 4, float("inf"), -float("inf"), -top * 3, float("nan")])
    y = quantize(x, fmt, bias)
    assert y.tolist() == [top, top, top, -top, -top, top]
    assert encode(x, fmt, bias).tolist() == [127, 127, 127, 255, 255, 127]


@pytest.mark.parametrize("bias", [0, 7, 31, 63])
@pytest.mark.parametrize("fmt", LAYOUTS, ids=_id)
def test_round_to_nearest_even_matches_table_search(fmt: FloatFormat, bias: int) -> None:
    gen = torch.Generator().manual_seed(bias)
    values = decode(ALL_CODES, fmt, bias)
    positive = values[:128]
    midpoints = (positive[1:] + positive[:-1]) / 2  # exact in float32: the ties
    scale = float(positive[-1])
    x = torch.cat(
        [
            values,
            midpoints,
            -midpoints,
            torch.randn(4000, generator=gen) * scale / 4,
            torch.rand(2000, generator=gen) * float(positive[10]),  # the denormal region
            torch.exp2(torch.empty(2000).uniform_(-70, 20, generator=gen)),
        ]
    )
    assert torch.equal(quantize(x, fmt, bias), nearest_even(x, fmt, bias))


@pytest.mark.parametrize("fmt", LAYOUTS, ids=_id)
def test_stochastic_rounding_picks_a_neighbour_and_is_reproducible(fmt: FloatFormat) -> None:
    bias = 20
    x = torch.exp2(torch.empty(5000).uniform_(-24, 13)) * torch.sign(torch.randn(5000))
    y1 = quantize(x, fmt, bias, rounding="stochastic", generator=torch.Generator().manual_seed(5))
    y2 = quantize(x, fmt, bias, rounding="stochastic", generator=torch.Generator().manual_seed(5))
    y3 = quantize(x, fmt, bias, rounding="stochastic", generator=torch.Generator().manual_seed(6))
    assert torch.equal(y1, y2)
    assert not torch.equal(y1, y3)
    lo, hi = neighbours(x.clamp(-fmt.max_value(bias), fmt.max_value(bias)), fmt, bias)
    mag = y1.double().abs()
    assert ((mag == lo) | (mag == hi)).all()
    assert torch.equal(quantize(y1, fmt, bias), y1)


STAT_CASES = [
    (CFP8_143, 7, 1.1),  # between 1 and 1.125
    (CFP8_152, 15, -3.3),  # between -3 and -3.5
    (CFP8_143, 7, 0.0123),  # denormal region: grid step 2^-9
    (CFP8_152.with_options(denormal_scale="printed"), 15, 1.5 * 2.0**-15),  # the gap
]


@pytest.mark.parametrize(("fmt", "bias", "value"), STAT_CASES)
def test_stochastic_rounding_is_unbiased(fmt: FloatFormat, bias: int, value: float) -> None:
    """Mean of N roundings is within 5 standard errors of the input (false alarm ~6e-7)."""
    n = 200_000
    x = torch.full((n,), value)
    y = quantize(x, fmt, bias, rounding="stochastic", generator=torch.Generator().manual_seed(1))
    lo, hi = neighbours(x[:1], fmt, bias)
    x32 = abs(float(x[0]))
    p = (x32 - float(lo)) / (float(hi) - float(lo))
    std_err = (float(hi) - float(lo)) * (p * (1 - p) / n) ** 0.5
    assert 0.0 < p < 1.0
    assert abs(y.double().mean().item() - float(x[0])) < 5 * std_err
