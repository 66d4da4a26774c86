"""The cost model against published single-node training throughput (dojo_runtime/
VALIDATION.md): every case inside its stated band, the fitted parameters being what the fit
gives, the published networks' shapes, and the generated table in VALIDATION.md current."""

from __future__ import annotations

import pytest

from benchmarks.bench_cost_validation import VALIDATION_MD, generated_section
from dojo_runtime.catalog.published import (
    PublishedWorkload,
    parameter_count,
    published_inference_profile,
    published_step_profile,
)
from dojo_runtime.specs import load_cost_params
from dojo_runtime.validation import (
    BAND,
    CASES,
    fit_conv_efficiencies,
    fit_volta_conv_efficiency,
    model_all,
    worst,
)


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    return model_all()


def test_every_case_is_inside_its_stated_band(results) -> None:  # type: ignore[no-untyped-def]
    outside = [(r.case.name, round(r.ratio, 3), r.case.band) for r in results if not r.in_band]
    assert outside == []


def test_resnet50_rows_are_the_published_eight_and_claimed_within_the_band() -> None:
    resnet = [c for c in CASES if c.workload.network == "resnet50" and c.mode == "training"]
    assert sorted(c.published for c in resnet) == [367, 938, 1200, 2470, 2855, 7248, 8322, 16621]
    assert {c.role for c in resnet} == {"fit", "held out"}
    # every V100 training row is held out; no training row has a widened band
    assert all(c.system == "dgx-a100" for c in resnet if c.role == "fit")
    assert [c.name for c in resnet if c.band != (1 - BAND, 1 + BAND)] == []


def test_volta_is_fitted_on_the_v100_inference_rows_only() -> None:
    inference = [c for c in CASES if c.mode == "inference"]
    assert sorted(c.published for c in inference) == [3249, 3382]
    assert {(c.system, c.precision, c.role) for c in inference} == {("dgx-1v", "amp", "fit")}
    assert all(c.band == (1 - BAND, 1 + BAND) for c in inference)


def test_the_stored_volta_conv_efficiency_is_the_fit_on_the_v100_inference_rows() -> None:
    params = load_cost_params()
    stored = [
        v for a, k, p, v in params.gpu.by_architecture if (a, k, p) == ("volta", "conv2d", "bf16")
    ]
    assert stored == [pytest.approx(fit_volta_conv_efficiency(params), abs=0.002)]


def test_inference_profile_is_the_forward_pass_with_eval_mode_batch_norm() -> None:
    w = PublishedWorkload("r", "resnet50", 4)
    inference = published_inference_profile(w, "amp")
    training, _ = published_step_profile(w, "amp")
    forward = [c for c in training if c.phase == "forward"]
    assert {c.phase for c in inference} == {"forward"}
    assert "loss" not in {c.kind for c in inference}
    assert len(inference) == len(forward) - 1  # all but the loss
    convs = [c for c in inference if c.kind == "conv2d"]
    assert convs == [c for c in forward if c.kind == "conv2d"]
    # eval-mode batch norm reads its input once (training mode: twice, for the statistics)
    for ev, tr in zip(
        (c for c in inference if c.kind == "norm"),
        (c for c in forward if c.kind == "norm"),
        strict=True,
    ):
        assert ev.bytes_read == tr.bytes_written == tr.bytes_read / 2
        assert ev.flops == tr.flops / 4
    with pytest.raises(ValueError, match="bert-large"):
        published_inference_profile(PublishedWorkload("b", "bert-large", 1), "amp")


def test_transformer_cases_are_held_out_and_phase1_is_labelled_outside() -> None:
    bert = [c for c in CASES if c.workload.network == "bert-large"]
    assert {c.role for c in bert if c.workload.seq_len == 512} == {"held out"}
    assert {c.role for c in bert if c.workload.seq_len == 128} == {"outside"}


def test_the_stored_conv_efficiencies_are_the_fit_on_the_a100_rows() -> None:
    params = load_cost_params()
    stored = {p: v for k, p, v in params.gpu.by_kernel if k == "conv2d"}
    assert fit_conv_efficiencies(params) == pytest.approx(stored, abs=0.002)


def test_worst_claimed_ratio(results) -> None:  # type: ignore[no-untyped-def]
    assert 0.75 < worst(results) < 1.25


def test_published_networks_have_their_published_sizes() -> None:
    assert parameter_count(PublishedWorkload("r", "resnet50", 1)) == 25_557_032
    # BERT-Large: 335 M with the padded vocabulary (the NSP head is left out)
    bert = parameter_count(PublishedWorkload("b", "bert-large", 1, seq_len=512, masked=80))
    assert bert == pytest.approx(335e6, rel=0.01)


def test_resnet50_forward_is_4_1_gmac_a_224_image() -> None:
    calls, grad = published_step_profile(PublishedWorkload("r", "resnet50", 2), "amp")
    forward = sum(c.flops for c in calls if c.phase == "forward" and c.kind == "conv2d")
    assert forward / 2 / 2 == pytest.approx(4.09e9, rel=0.02)  # multiply-adds per image
    assert grad == 25_557_032 * 4  # AMP all-reduces FP32 gradients
    kinds = {c.kind for c in calls}
    assert {"conv2d", "norm", "elementwise", "matmul", "loss"} <= kinds


def test_validation_md_holds_the_generated_table() -> None:
    assert generated_section() in VALIDATION_MD.read_text(encoding="utf-8"), (
        "VALIDATION.md is stale: run python -m benchmarks.bench_cost_validation --write"
    )
