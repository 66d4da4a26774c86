"""Exponent-bias selection and the per-role running-absmax trackers."""

from __future__ import annotations

import math

import pytest
import torch

from dojo_runtime.formats import (
    BF16,
    CFP8_143,
    CFP8_152,
    CFP16_SHP,
    BiasTracker,
    FloatFormat,
    choose_bias,
    quantize,
)


def _brute_force(absmax: float, fmt: FloatFormat) -> int:
    fitting = [b for b in range(64) if fmt.max_value(b) >= absmax]
    return max(fitting) if fitting else 0


@pytest.mark.parametrize("fmt", [CFP8_143, CFP8_152, CFP16_SHP], ids=lambda f: f.name)
def test_choose_bias_is_the_largest_bias_that_holds_absmax(fmt: FloatFormat) -> None:
    gen = torch.Generator().manual_seed(0)
    samples = torch.exp2(torch.empty(3000, dtype=torch.float64).uniform_(-80, 40, generator=gen))
    edges = [fmt.max_value(b) * f for b in (0, 5, 31, 63) for f in (1.0, 1.0000001, 0.9999999)]
    for absmax in [*samples.tolist(), *edges]:
        assert choose_bias(absmax, fmt) == _brute_force(absmax, fmt), absmax


def test_chosen_bias_never_saturates_inside_the_range() -> None:
    x = torch.randn(1000) * 37.0
    b = choose_bias(float(x.abs().max()), CFP8_143)
    assert quantize(x, CFP8_143, b).abs().max() <= CFP8_143.max_value(b)
    assert CFP8_143.max_value(b) >= x.abs().max() > CFP8_143.max_value(b + 1)


def test_choose_bias_edge_cases() -> None:
    assert choose_bias(0.0, CFP8_143) == CFP8_143.default_bias
    assert choose_bias(math.inf, CFP8_143) == 0
    assert choose_bias(1e30, CFP8_143) == 0  # beyond any bias: widest range
    assert choose_bias(1e-30, CFP8_143) == 63
    assert choose_bias(5.0, BF16) == 127  # fixed-bias formats keep theirs
    assert choose_bias(1.0, CFP8_143, headroom=2) == choose_bias(4.0, CFP8_143)


def test_tracker_keeps_a_decaying_running_max_per_key() -> None:
    tracker = BiasTracker(CFP8_143, decay=0.5)
    assert tracker.observe("a", 100.0) == choose_bias(100.0, CFP8_143)
    assert tracker.observe("a", 1.0) == choose_bias(50.0, CFP8_143)  # remembers half
    assert tracker.observe("b", 1.0) == choose_bias(1.0, CFP8_143)  # keys are separate
    assert tracker.observe("a", float("nan")) == choose_bias(50.0, CFP8_143)
    assert tracker.update("a", torch.tensor([-300.0, 2.0])) == choose_bias(300.0, CFP8_143)
    assert tracker.running_absmax() == {"a": 300.0, "b": 1.0}


def test_tracker_state_roundtrip() -> None:
    a = BiasTracker(CFP8_152, decay=0.9, headroom=1)
    for i in range(5):
        a.observe(f"k{i % 2}", 2.0**i)
    b = BiasTracker(CFP8_152)
    b.load_state_dict(a.state_dict())
    assert b.running_absmax() == a.running_absmax()
    assert (b.decay, b.headroom) == (0.9, 1)
    assert b.observe("k0", 3.0) == a.observe("k0", 3.0)
