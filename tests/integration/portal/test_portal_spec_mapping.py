"""The portal's edge between form fields and the JobSpec proto (pure: no database)."""

from __future__ import annotations

import pytest

from dojocloud.portal.forms import DEFAULTS, param_field
from dojocloud.portal.spec_mapping import (
    FORM_TO_SPEC_PATH,
    form_field_for,
    form_initial_from_spec,
    spec_from_form,
)
from dojocloud.portal.templatetags.portal_tags import duration, usd


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("name", "name"),
        ("training.learning_rate", "learning_rate"),
        ("model.params.hidden", "param_mlp_hidden"),
        ("model.params.depth", None),  # mlp has no depth: the page lists it by its path
        ("model.params", None),
        ("resources.accelerators[1]", "accelerators"),
        ("limits.max_runtime_seconds", "max_runtime_seconds"),
        ("request_id", None),
        ("", None),
    ],
)
def test_spec_paths_map_to_form_fields(path: str, field: str | None) -> None:
    assert form_field_for(path, "mlp") == field


def test_parameter_paths_follow_the_architecture() -> None:
    assert form_field_for("model.params.heads", "gpt") == "param_gpt_heads"
    assert form_field_for("model.params.heads", "mlp") is None
    assert form_field_for("model.params.hidden", "") is None


def test_every_form_field_round_trips_through_the_spec() -> None:
    data = {
        "name": "n",
        "architecture": "gpt",
        "dataset": "organizations/acme/datasets/x",
        "steps": 10,
        "batch_size": 8,
        "optimizer": "adamw",
        "learning_rate": 0.5,
        "precision": "cfp8",
        "checkpoint_interval": 5,
        "seed": 3,
        "accelerators": ["gpu-h100", "dojo-tile"],
        "count": 4,
        "max_runtime_seconds": 60,
        "priority_class": "high",
        "preemptible": True,
    }
    initial = form_initial_from_spec(spec_from_form(data, {"layers": 4, "heads": 2}))
    params = {k for k in DEFAULTS if k.startswith("param_")}
    uploaded = {"onnx_model", "task"}  # shown for an uploaded model only (below)
    assert set(initial) == (set(FORM_TO_SPEC_PATH) - uploaded) | params
    # The job's parameters, and every other one at the catalog's default.
    assert (initial[param_field("gpt", "layers")], initial[param_field("gpt", "heads")]) == (4, 2)
    assert initial[param_field("gpt", "d_model")] == DEFAULTS[param_field("gpt", "d_model")]
    assert {k: v for k, v in initial.items() if k not in params} == data
    # The form's "uploaded ONNX model" choice: model.onnx and model.task, no architecture.
    onnx = {**data, "architecture": "onnx", "onnx_model": "organizations/acme/models/m"}
    onnx["task"] = "regression"
    spec = spec_from_form(onnx, {})
    assert (spec.model.architecture, spec.model.onnx, spec.model.task) == (
        "",
        "organizations/acme/models/m",
        "regression",
    )
    initial = form_initial_from_spec(spec)
    assert {k: v for k, v in initial.items() if k not in params} == onnx


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0s"),
        (2.6e-05, "26 µs"),
        (0.0078, "7.8 ms"),
        (12.5, "12.5s"),
        (187, "3m 07s"),
        (3720, "1h 02m"),
        (3 * 86400 + 4 * 3600 + 59, "3d 04h"),
        (4.2e-7, "0.42 µs"),
    ],
)
def test_duration_filter(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7.1e-05, "$0.000071"),
        (0.5, "$0.50"),
        (1234.567, "$1,234.57"),
        (0, "$0.00"),
        (3.4e-09, "$0.0000000034"),  # never $0.0000
        (0.0123, "$0.01"),
    ],
)
def test_usd_filter(value: float, text: str) -> None:
    assert usd(value) == text
