"""Estimates: step and total time, cost = devices x hours x price, cheapest and fastest marked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dojo_runtime.__main__ import main
from dojo_runtime.config import TrainConfig
from dojo_runtime.cost.workloads import GptShape, gpt_step_profile
from dojo_runtime.devices import make_device
from dojo_runtime.estimate import (
    EstimateRow,
    config_from_spec,
    default_options,
    estimate,
    estimate_config,
    format_table,
    relative_throughput,
)
from dojo_runtime.kernels import KernelCall
from dojo_runtime.specs import load_hardware
from tests.support.kernels import matmul

ROOT = Path(__file__).resolve().parents[3]
GPT_SPEC = Path(__file__).parent / "specs" / "gpt-small-text.yaml"
KERNELS = [
    matmul(),
    KernelCall("elementwise", 64 * 4096.0, 2 * 64 * 4096.0, 2 * 64 * 4096.0, precision="bf16"),
]
GRAD_BYTES = 2 * 4096**2
CONFIG = TrainConfig("mlp", steps=1000, batch_size=64, precision="bf16")


def rows_for(options: list[tuple[str, int]], **kw: object) -> list[EstimateRow]:
    return estimate(CONFIG, step_kernels=KERNELS, grad_bytes=GRAD_BYTES, options=options, **kw)


def test_cost_is_devices_times_hours_times_price() -> None:
    (row,) = rows_for([("gpu-a100", 8)])
    step = make_device("gpu-a100", 8, "bf16").run_step(KERNELS, GRAD_BYTES)
    assert row.step_seconds == pytest.approx(step)
    assert row.total_seconds == pytest.approx(1000 * step)
    assert row.cost_usd == pytest.approx(8 * 1000 * step / 3600 * 4.10)
    assert row.samples_per_second == pytest.approx(64 / step)
    assert row.cheapest and row.fastest  # the only option is both


def test_exactly_one_cheapest_and_one_fastest() -> None:
    rows = rows_for(default_options(CONFIG))
    assert sum(r.cheapest for r in rows) == 1 and sum(r.fastest for r in rows) == 1
    cheapest = next(r for r in rows if r.cheapest)
    fastest = next(r for r in rows if r.fastest)
    assert cheapest.cost_usd == min(r.cost_usd for r in rows)
    assert fastest.total_seconds == min(r.total_seconds for r in rows)


def test_prices_from_configuration_override_the_defaults() -> None:
    base = rows_for([("dojo-tile", 1), ("gpu-h100", 1)])
    cheap_tile = rows_for([("dojo-tile", 1), ("gpu-h100", 1)], prices={"dojo-tile": 0.01})
    assert cheap_tile[0].usd_per_device_hour == 0.01
    assert cheap_tile[0].cost_usd == pytest.approx(base[0].cost_usd * 0.01 / 32.77)
    assert cheap_tile[0].cheapest
    assert cheap_tile[1].cost_usd == base[1].cost_usd


def test_default_options_cover_a_tray_of_tiles_and_each_gpu_type() -> None:
    options = default_options(CONFIG)
    assert [n for a, n in options if a == "dojo-tile"] == [1, 2, 3, 4, 5, 6]
    for gpu in load_hardware().gpus:
        assert [n for a, n in options if a == gpu] == [1, 2, 4, 8]
    asked = TrainConfig("mlp", accelerator="dojo-tile", device_count=12)
    assert max(n for a, n in default_options(asked) if a == "dojo-tile") == 12
    asked_gpu = TrainConfig("mlp", accelerator="gpu-h100", device_count=32)
    assert (("gpu-h100", 32)) in default_options(asked_gpu)


def test_gpt_workload_dojo_tile_beats_an_a100_on_time() -> None:
    shape = GptShape(layers=12, d_model=768, heads=12, seq_len=1024, vocab=50304)
    kernels, grad = gpt_step_profile(shape, batch=8)
    config = TrainConfig("gpt", steps=100, batch_size=8, precision="bf16")
    rows = estimate(
        config,
        step_kernels=kernels,
        grad_bytes=grad,
        options=[("dojo-tile", 1), ("gpu-a100", 1), ("gpu-h100", 1)],
    )
    tile, a100, h100 = rows
    assert tile.step_seconds < h100.step_seconds < a100.step_seconds
    # Compute-bound on the H100: 989 / 312 peaks, within what memory-bound ops take back.
    assert 2.0 < a100.step_seconds / h100.step_seconds < 3.2


def test_config_from_the_digits_example() -> None:
    spec = yaml.safe_load((ROOT / "examples" / "digits-mlp.yaml").read_text())
    config = config_from_spec(spec)
    assert config == TrainConfig(
        architecture="mlp",
        model_params={"hidden": 128, "layers": 2},
        dataset="digits",
        steps=300,
        batch_size=64,
        optimizer="adam",
        learning_rate=0.003,
        precision="bf16",
        seed=7,
        accelerator="dojo-tile",
        device_count=1,
    )
    with pytest.raises(ValueError, match="architecture"):
        config_from_spec({"model": {}})


def test_estimate_config_uses_the_catalog_profile() -> None:
    config = config_from_spec(yaml.safe_load((ROOT / "examples" / "digits-mlp.yaml").read_text()))
    rows = estimate_config(config, options=[("dojo-tile", 1), ("gpu-a100", 1)])
    assert all(r.step_seconds > 0 for r in rows)
    assert relative_throughput(config, "dojo-tile", 1) == pytest.approx(rows[0].samples_per_second)


def test_format_table_marks_rows() -> None:
    text = format_table(rows_for([("dojo-tile", 1), ("gpu-v100", 1)]), "2025")
    assert "cheapest" in text and "fastest" in text and "as of 2025" in text


@pytest.mark.parametrize("spec", [ROOT / "examples" / "digits-mlp.yaml", GPT_SPEC])
def test_cli_prints_the_table(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(spec), "--price", "gpu-h100=2.5"]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith(("dojo-tile", "gpu-"))]
    assert len(lines) == 6 + 4 * len(load_hardware().gpus)
    assert sum("cheapest" in ln for ln in lines) == 1
    assert sum("fastest" in ln for ln in lines) == 1
    assert any(ln.startswith("gpu-h100") and " 2.50 " in ln for ln in lines)
    assert "prices: USD per device-hour" in out
