"""The packaged specs load as typed data, every figure with its source."""

from __future__ import annotations

import pytest

from dojo_runtime.specs import accelerator_kind, load_cost_params, load_hardware


def test_tile_figures_match_the_research_specs() -> None:
    hw = load_hardware()
    assert hw.tile.peak_bf16_flops == 9.0e15
    assert hw.tile.sram_bytes == 11e9
    assert hw.tile.nodes == 25 * 354
    assert (hw.tray.rows, hw.tray.cols, hw.tray.dips) == (2, 3, 20)
    assert hw.pod.tiles_per_exapod == 120
    assert hw.dip.hbm_bandwidth_bytes_per_s == 8.0e11


def test_every_spec_and_price_carries_a_source() -> None:
    hw = load_hardware()
    for spec in (
        hw.node,
        hw.tile,
        hw.tray,
        hw.pod,
        hw.dip,
        hw.latencies,
        hw.prices,
        *hw.gpus.values(),
    ):
        assert spec.source.strip(), spec


def test_gpu_pools_map_to_datasheet_parts() -> None:
    hw = load_hardware()
    a100, h100 = hw.gpu("gpu-a100"), hw.gpu("gpu-h100")
    assert a100.peak_bf16_flops == 3.12e14 and a100.peak_fp8_flops is None
    assert h100.peak_fp8_flops == 1.979e15
    assert h100.hbm_bandwidth_bytes_per_s == 3.35e12
    assert {"gpu-a100", "gpu-h100", "gpu-h200", "gpu-v100"} <= set(hw.gpus)
    with pytest.raises(ValueError):
        hw.gpu("gpu-tpu")


def test_prices_are_dated_and_overridable() -> None:
    book = load_hardware().prices
    assert book.price("gpu-a100") == pytest.approx(32.77 / 8, rel=1e-2)
    assert "2025" in book.price_date
    custom = book.with_overrides({"gpu-a100": 1.5})
    assert custom.price("gpu-a100") == 1.5
    assert custom.price("gpu-h100") == book.price("gpu-h100")
    assert "overridden" in custom.price_date
    with pytest.raises(KeyError):
        book.price("gpu-tpu")


def test_accelerator_kinds_and_cost_params() -> None:
    assert accelerator_kind("dojo-tile") == "dojo"
    assert accelerator_kind("gpu-h100") == "gpu"
    with pytest.raises(ValueError, match="unknown accelerator"):
        accelerator_kind("tpu-v4")
    params = load_cost_params()
    assert 0 < params.gpu.matrix <= 1 and 0 < params.dojo.network <= 1
    assert 0 < params.sram_usable_fraction <= 1
