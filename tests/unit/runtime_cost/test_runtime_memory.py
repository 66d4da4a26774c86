"""The memory model: parameter counts of the catalog's shapes, bytes per parameter by
precision and optimizer, activations scaling with the per-device batch, device memory from
the specs, cheap refusal, the cache bound, and memory in the estimate table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dojo_runtime import __main__ as runtime_cli
from dojo_runtime import catalog
from dojo_runtime.catalog import footprint
from dojo_runtime.catalog.samples import OVERSIZED_GPT, sample_models
from dojo_runtime.config import TrainConfig
from dojo_runtime.estimate import DoesNotFit, estimate_config, format_table
from dojo_runtime.memory import (
    fits,
    format_bytes,
    largest_batch_that_fits,
    model_state,
    peak_memory,
)
from dojo_runtime.specs import accelerator_figures, device_memory, load_hardware

GPT2_SHAPE = {"d_model": 768, "layers": 12, "heads": 12, "context": 1024}
# 3.2e9 parameters: 51 GB of model state in bf16 + Adam, more than an A100 40 GB or a V100.
MID = TrainConfig(
    "gpt",
    {"d_model": 4096, "layers": 16, "heads": 32, "context": 64},
    "tiny-shakespeare",
    steps=100,
    batch_size=8,
    precision="bf16",
)


def gpt(precision: str = "bf16", **kw: object) -> TrainConfig:
    return TrainConfig(
        "gpt", GPT2_SHAPE, "tiny-shakespeare", precision=precision, optimizer="adamw", **kw
    )  # type: ignore[arg-type]


# Transformer block of width d: attention 4d^2 + 4d, MLP 8d^2 + 5d, two norms 4d: 12d^2 weights
# and 13d vectors. GPT adds token and position tables, the final norm and the LM head (256
# byte tokens).
@pytest.mark.parametrize(
    ("arch", "params", "dataset", "weight", "vector"),
    [
        # 64 -> 128 -> 128 -> 10 with biases
        ("mlp", {}, "digits", 64 * 128 + 128 * 128 + 128 * 10, 128 + 128 + 10),
        # stem 3x3 1->32; 2 blocks of two 3x3 32->32 convs and two (32, 8, 8) norms; head 32->10
        ("cnn", {}, "digits", 288 + 2 * 2 * 9216 + 320, 32 + 2 * (2 * 2 * 2048 + 64) + 10),
        (
            "gpt",
            GPT2_SHAPE,
            "tiny-shakespeare",
            12 * 12 * 768**2 + 256 * 768 + 1024 * 768 + 768 * 256,
            12 * 13 * 768 + 2 * 768,
        ),
        (
            "gpt",
            dict(OVERSIZED_GPT.model_params),
            "tiny-shakespeare",
            128 * 12 * 16384**2 + 256 * 16384 + 8192 * 16384 + 16384 * 256,
            128 * 13 * 16384 + 2 * 16384,
        ),
    ],
)
def test_known_parameter_counts(
    arch: str, params: dict[str, int], dataset: str, weight: int, vector: int
) -> None:
    split = catalog.parameter_split(TrainConfig(arch, params, dataset))
    assert (split.weight, split.vector) == (weight, vector)


def test_absurd_gpt_has_its_published_size() -> None:
    assert catalog.parameter_split(OVERSIZED_GPT).total == 412_486_762_496


@pytest.mark.parametrize("arch", sorted(catalog.ARCHITECTURES))
def test_split_counts_every_parameter_of_each_architecture(arch: str) -> None:
    params, dataset = sample_models(d_model=64, layers=2, heads=4, context=64, mlp_hidden=96)[arch]
    config = TrainConfig(arch, params, dataset)
    assert catalog.parameter_split(config).total == catalog.parameter_count(config)
    assert catalog.activation_bytes_per_sample(config) > 0


@pytest.mark.parametrize(
    ("precision", "optimizer", "state_bytes_per_param"),
    [
        ("fp32", "adam", 4 + 4 + 8),  # weights, gradients, two FP32 moments
        ("fp32", "sgd", 4 + 4 + 4),  # one momentum buffer
        ("bf16", "adamw", 2 + 2 + 4 + 8),  # + an FP32 master copy (ZeRO's 16 bytes)
        ("bf16", "sgd", 2 + 2 + 4 + 4),
    ],
)
def test_model_state_bytes_per_parameter(
    precision: str, optimizer: str, state_bytes_per_param: int
) -> None:
    config = replace(gpt(precision), optimizer=optimizer)
    state = model_state(config)
    assert state.model_state_bytes == state.parameters * state_bytes_per_param
    assert state.activation_bytes == 0 and state.per_device_batch == 0


def test_cfp8_keeps_vectors_in_bf16() -> None:
    split = catalog.parameter_split(gpt("cfp8"))
    assert model_state(gpt("cfp8")).weight_bytes == split.weight * 1 + split.vector * 2


def test_bf16_activations_are_half_of_fp32() -> None:
    fp32 = peak_memory(gpt("fp32", batch_size=8))
    bf16 = peak_memory(gpt("bf16", batch_size=8))
    assert bf16.activation_bytes * 2 == fp32.activation_bytes
    assert bf16.weight_bytes * 2 == fp32.weight_bytes
    assert bf16.peak_bytes < fp32.peak_bytes


def test_activations_scale_with_the_per_device_batch() -> None:
    one = peak_memory(gpt(batch_size=8))
    assert peak_memory(gpt(batch_size=16)).activation_bytes == 2 * one.activation_bytes
    # 33 samples on 2 devices: the larger shard, 17, sets the peak.
    split = peak_memory(gpt(batch_size=33), count=2)
    assert split.per_device_batch == 17
    assert split.activation_bytes == 17 * one.activation_bytes // 8
    assert split.model_state_bytes == one.model_state_bytes  # every device holds the model


def test_device_memory_comes_from_the_specs() -> None:
    hw = load_hardware()
    assert device_memory(hw, "gpu-h100")[0] == 8.0e10
    assert device_memory(hw, "gpu-a100")[0] == 4.0e10  # the p4d part, A100 40 GB
    tile, source = device_memory(hw, "dojo-tile")
    assert tile == pytest.approx(1.1e10 + 3.33 * 3.2e10)  # SRAM + its share of DIP HBM
    assert "sram" in source and "dip" in source
    assert accelerator_figures()["gpu-h200"].memory_bytes == 1.41e11
    with pytest.raises(ValueError, match="tpu"):
        device_memory(hw, "tpu-v5")


def test_absurd_spec_is_refused_on_its_parameters_without_a_trace() -> None:
    footprint.cache_clear()
    table = fits(OVERSIZED_GPT, [("dojo-tile", 6), ("gpu-h200", 8)])
    assert not any(f.fits or f.complete for f in table)
    assert table[0].needed_bytes == 412_486_762_496 * 16
    assert len(footprint.ACTIVATIONS) == 0  # refused on its parameters: nothing traced
    with pytest.raises(DoesNotFit) as info:
        estimate_config(OVERSIZED_GPT)
    assert "at least" in str(info.value) and "GiB" in str(info.value)


def test_largest_batch_that_fits() -> None:
    fit = fits(gpt(batch_size=4096), [("gpu-h100", 2)])[0]
    assert not fit.fits
    most = largest_batch_that_fits(gpt(batch_size=4096), fit)
    assert 0 < most < 4096
    assert fits(gpt(batch_size=most), [("gpu-h100", 2)])[0].fits
    assert not fits(gpt(batch_size=most + 2), [("gpu-h100", 2)])[0].fits


def test_estimate_rows_carry_memory_and_mark_only_what_fits() -> None:
    options = [("dojo-tile", 1), ("gpu-a100", 8), ("gpu-v100", 8), ("gpu-h100", 1)]
    rows = estimate_config(MID, options=options)
    by = {r.accelerator: r for r in rows}
    assert by["dojo-tile"].fits and by["gpu-h100"].fits
    assert not by["gpu-a100"].fits and not by["gpu-v100"].fits
    assert all(r.peak_memory_bytes > 0 and r.device_memory_bytes > 0 for r in rows)
    # The A100 and V100 rows are cheaper or faster by time alone, but they do not fit.
    assert {r.accelerator for r in rows if r.cheapest or r.fastest} <= {"dojo-tile", "gpu-h100"}
    table = format_table(rows)
    assert "memory/device" in table and "does not fit" in table and " / 74.5 GiB" in table


def test_the_cache_is_bounded_and_keyed_by_shape() -> None:
    assert footprint._split.cache_info().maxsize == footprint.CACHE_SIZE
    assert footprint.ACTIVATIONS.maxsize == footprint.CACHE_SIZE
    footprint.cache_clear()
    config = gpt(batch_size=8)
    first = catalog.activation_bytes_per_sample(config)
    # Batch, steps, count, optimizer and learning rate do not change a shape's figures.
    for other in (
        replace(config, batch_size=64),
        replace(config, steps=7, device_count=4),
        replace(config, optimizer="sgd", learning_rate=0.5),
    ):
        assert catalog.activation_bytes_per_sample(other) == first
    assert len(footprint.ACTIVATIONS) == 1
    assert footprint.shape_key(config) != footprint.shape_key(replace(config, precision="fp32"))


def test_the_activation_figure_does_not_depend_on_the_traced_batch() -> None:
    config = TrainConfig("vit", {"d_model": 32, "layers": 1, "heads": 2}, "synthetic-images")
    figures = set()
    for batch in (1, 3, 64):
        footprint.cache_clear()
        figures.add(catalog.activation_bytes_per_sample(replace(config, batch_size=batch)))
    assert len(figures) == 1


def test_bounded_cache_evicts_the_least_recently_used() -> None:
    cache = footprint.BoundedCache(2)
    keys = [footprint.shape_key(gpt(p)) for p in ("fp32", "bf16", "cfp8")]
    cache.put(keys[0], 1)
    cache.put(keys[1], 2)
    assert cache.get(keys[0]) == 1  # now the most recent
    cache.put(keys[2], 3)
    assert len(cache) == 2 and cache.get(keys[1]) is None
    assert cache.get(keys[0]) == 1 and cache.get(keys[2]) == 3


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1000, "1000 B"),
        (474_000, "463 KiB"),
        (6 * 2**30, "6 GiB"),
        (8.0e10, "74.5 GiB"),
        (412_486_762_496 * 16, "6 TiB"),
    ],
)
def test_format_bytes(n: float, text: str) -> None:
    assert format_bytes(n) == text


def test_the_runtime_cli_says_a_spec_fits_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text(
        "model:\n  architecture: gpt\n"
        "  params: {d_model: 16384, layers: 128, heads: 128, context: 8192}\n"
        "dataset: {name: tiny-shakespeare}\ntraining: {batch_size: 65536}\n"
    )
    assert runtime_cli.main(["estimate", str(spec)]) == 1
    assert "does not fit any option" in capsys.readouterr().err
