"""The format definitions agree with the hardware spec file's `formats` section."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from dojo_runtime.formats import BF16, CFP8_143, CFP8_152, CFP16_SHP, CFP16_UHP, FP32, FloatFormat

SPEC_KEYS = {
    "cfp8_1_4_3": CFP8_143,
    "cfp8_1_5_2": CFP8_152,
    "cfp16_shp": CFP16_SHP,
    "cfp16_uhp": CFP16_UHP,
    "bf16": BF16,
    "fp32": FP32,
}


def _formats_section() -> dict:
    text = resources.files("dojo_runtime.specs").joinpath("dojo_hardware.yaml").read_text()
    return yaml.safe_load(text)["formats"]


@pytest.mark.parametrize("key", sorted(SPEC_KEYS))
def test_layout_and_bias_match_the_spec(key: str) -> None:
    spec, fmt = _formats_section()[key], SPEC_KEYS[key]
    assert fmt.total_bits == spec["total_bits"]
    assert fmt.exp_bits == spec["exponent_bits"]
    assert fmt.man_bits == spec["mantissa_bits"]
    assert int(fmt.signed) == spec.get("sign_bits", 1)
    if spec.get("bias_configurable"):
        assert fmt.bias_configurable
        assert (fmt.bias_min, fmt.bias_max) == (spec["bias_min"], spec["bias_max"])
    if "bias" in spec:
        assert fmt.default_bias == spec["bias"]


@pytest.mark.parametrize("key", ["cfp8_1_4_3", "cfp8_1_5_2"])
def test_cfp8_ranges_match_the_spec(key: str) -> None:
    spec, fmt = _formats_section()[key], SPEC_KEYS[key]
    assert fmt.emax(0) == spec["normal_exponent_max_at_bias_0"]
    assert fmt.emin(0) == spec["normal_exponent_min_at_bias_0"]
    assert fmt.emin(63) == spec["unbiased_exponent_span_min"]
    assert fmt.emax(0) - fmt.emin(0) + 1 == spec["exponents_per_bias"]
    for bias in (0, 31, 63):
        assert fmt.max_value(bias) == eval(
            spec["max_value_formula"], {"__builtins__": {}, "bias": bias}
        )
    assert not spec["supports_inf"] and not spec["supports_nan"] and spec["supports_denormals"]


def test_each_format_is_described_once() -> None:
    fmts: list[FloatFormat] = list(SPEC_KEYS.values())
    assert len({f.name for f in fmts}) == len(fmts)
