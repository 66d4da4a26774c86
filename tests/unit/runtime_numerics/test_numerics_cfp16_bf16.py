"""CFP16 (SHP, UHP) spot and property tests; BF16 bitwise against torch.bfloat16."""

from __future__ import annotations

import pytest
import torch

from dojo_runtime.formats import (
    BF16,
    CFP16_SHP,
    CFP16_UHP,
    FP32,
    FloatFormat,
    decode,
    encode,
    quantize,
)
from dojo_runtime.formats.rounding import nearest_ieee_bits

ALL16 = torch.arange(1 << 16, dtype=torch.int32)


@pytest.mark.parametrize("bias", [0, 15, 40, 63])
def test_shp_all_codes_roundtrip_monotonic_and_saturating(bias: int) -> None:
    values = decode(ALL16, CFP16_SHP, bias)
    assert torch.isfinite(values).all()
    assert torch.equal(encode(values, CFP16_SHP, bias), ALL16)
    positive = values[: 1 << 15]
    assert (positive[1:] > positive[:-1]).all()
    top = (2 - 2.0**-10) * 2.0 ** (31 - bias)
    assert positive[-1].item() == top == CFP16_SHP.max_value(bias)
    assert positive[1].item() == 2.0 ** (1 - bias - 10)
    big = torch.tensor([float("inf"), -1e38, float("nan")])
    assert quantize(big, CFP16_SHP, bias).tolist() == [top, -top, top]


def test_shp_with_bias_15_is_ieee_half_below_65504() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.cat(
        [
            torch.randn(50_000, generator=gen) * 100,
            torch.exp2(torch.empty(50_000).uniform_(-26, 15.9, generator=gen)),
            torch.tensor([2.0**-25, 3 * 2.0**-25, 2.0**-24 * 1.5, 65504.0, 1.0 + 2.0**-11]),
        ]
    )
    assert torch.equal(quantize(x, CFP16_SHP, 15), x.half().float())
    # Beyond IEEE half's range the all-ones exponent is a normal binade, not Inf.
    assert quantize(torch.tensor([70000.0]), CFP16_SHP, 15).item() == 70016.0


def test_uhp_is_unsigned_flushes_denormals_and_roundtrips_normals() -> None:
    bias = CFP16_UHP.default_bias
    assert bias == 31 and CFP16_UHP.total_bits == 16
    values = decode(ALL16, CFP16_UHP, bias)
    normal = ALL16 >= (1 << 10)
    assert torch.equal(encode(values[normal], CFP16_UHP, bias), ALL16[normal])
    assert (values[~normal] == 0).all()  # denormal codes read as zero
    assert (values[normal][1:] > values[normal][:-1]).all()
    assert values[-1].item() == (2 - 2.0**-10) * 2.0 ** (63 - 31)
    x = torch.tensor([-5.0, 2.0**-31, 2.0**-30, 3.0])
    assert quantize(x, CFP16_UHP).tolist() == [0.0, 0.0, 2.0**-30, 3.0]


def _bf16_edge_values() -> torch.Tensor:
    specials = [
        0.0,
        -0.0,
        float("inf"),
        -float("inf"),
        3.0e38,
        3.4028235e38,
        -3.39e38,
        1.0 + 2.0**-8,
        1.0 + 3 * 2.0**-8,
        1.0 + 2.0**-8 + 2.0**-20,
        2.0**-133,
        2.0**-149,
        1.17549435e-38,
        9.18e-41,
    ]
    gen = torch.Generator().manual_seed(3)
    randoms = torch.randint(-(2**31), 2**31 - 1, (200_000,), generator=gen, dtype=torch.int64)
    bits = randoms.to(torch.int32).view(torch.float32)
    ties = (torch.arange(-5000, 5000, dtype=torch.int32) << 16 | 0x8000).view(torch.float32)
    x = torch.cat([torch.tensor(specials), bits, ties])
    return x[~torch.isnan(x)]


def test_bf16_quantize_and_bit_trick_match_torch_bitwise() -> None:
    x = _bf16_edge_values()
    expected = x.to(torch.bfloat16).float().view(torch.int32)
    assert torch.equal(quantize(x, BF16).view(torch.int32), expected)
    # The generic IEEE bit trick (used for other widths) agrees with torch as well.
    generic = nearest_ieee_bits(x, 16)
    assert torch.equal(generic.view(torch.int32), expected)


def test_bf16_codes_are_torch_bit_patterns() -> None:
    x = _bf16_edge_values()
    torch_codes = x.to(torch.bfloat16).view(torch.int16).to(torch.int32) & 0xFFFF
    codes = encode(x, BF16)
    assert torch.equal(codes, torch_codes)
    assert torch.equal(
        decode(codes, BF16).view(torch.int32), x.to(torch.bfloat16).float().view(torch.int32)
    )


def test_bf16_nan_stays_nan_and_stochastic_rounding_is_reproducible() -> None:
    assert torch.isnan(quantize(torch.tensor([float("nan")]), BF16)).all()
    x = torch.randn(10_000)
    a = quantize(x, BF16, rounding="stochastic", generator=torch.Generator().manual_seed(9))
    b = quantize(x, BF16, rounding="stochastic", generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    assert torch.equal(a.to(torch.bfloat16).float(), a)  # representable
    assert ((a - x).abs() < x.abs() * 2.0**-7 + 1e-30).all()  # one of the two neighbours
    assert quantize(torch.tensor([float("inf")]), BF16, rounding="stochastic").item() == float(
        "inf"
    )


def test_fp32_is_identity_and_codes_are_its_bits() -> None:
    x = torch.randn(100)
    assert quantize(x, FP32) is x
    assert torch.equal(decode(encode(x, FP32), FP32), x)


def test_bias_validation() -> None:
    with pytest.raises(ValueError):
        quantize(torch.ones(1), CFP16_SHP, 64)
    with pytest.raises(ValueError):
        quantize(torch.ones(1), BF16, 100)
    with pytest.raises(ValueError):
        decode(torch.tensor([1 << 16]), CFP16_SHP, 15)


@pytest.mark.parametrize("fmt", [CFP16_SHP, CFP16_UHP], ids=lambda f: f.name)
def test_cfp16_stochastic_rounding_lands_on_a_neighbour(fmt: FloatFormat) -> None:
    bias = 20
    gen = torch.Generator().manual_seed(4)
    x = torch.exp2(torch.empty(20_000).uniform_(-32, 11, generator=gen))
    if fmt.signed:
        x = x * torch.sign(torch.randn(20_000, generator=gen))
    y = quantize(x, fmt, bias, rounding="stochastic", generator=gen)
    assert torch.equal(quantize(y, fmt, bias), y)  # representable
    down = quantize(x, fmt, bias)  # nearest is a neighbour too
    step = torch.maximum(x.abs(), torch.tensor(fmt.min_normal(bias))) * 2.0**-10
    if not fmt.denormals:  # flushed after rounding: below min normal, 0 or min normal
        step = torch.where(x.abs() < fmt.min_normal(bias), fmt.min_normal(bias), step)
    assert ((y - x).abs() <= step).all()
    assert ((y - down).abs() <= step).all()
