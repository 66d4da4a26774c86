"""The portal's edge between form fields and the JobSpec proto (pure: no database)."""

from __future__ import annotations

import pytest

from dojocloud.portal.forms import parse_params
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
        ("model.params.hidden", "params"),
        ("model.params", "params"),
        ("resources.accelerators[1]", "accelerators"),
        ("limits.max_runtime_seconds", "max_runtime_seconds"),
        ("request_id", None),
        ("", None),
    ],
)
def test_spec_paths_map_to_form_fields(path: str, field: str | None) -> None:
    assert form_field_for(path) == field


def test_every_form_field_round_trips_through_the_spec() -> None:
    data = {
        "name": "n",
        "architecture": "gpt",
        "params": {"layers": 4, "heads": 2},
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
    }
    initial = form_initial_from_spec(spec_from_form(data))
    assert set(initial) == set(FORM_TO_SPEC_PATH)
    assert initial["params"] == "heads=2, layers=4"
    assert {k: v for k, v in initial.items() if k != "params"} == {
        k: v for k, v in data.items() if k != "params"
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hidden=128, layers=2", {"hidden": 128, "layers": 2}),
        (" hidden = 7 ,\nlayers=1,", {"hidden": 7, "layers": 1}),
        ("", {}),
    ],
)
def test_parse_params(text: str, expected: dict[str, int]) -> None:
    assert parse_params(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hidden", "'hidden' is not key=value"),
        ("=3", "'=3' is not key=value"),
        ("hidden=1.5", "hidden: '1.5' is not an integer"),
    ],
)
def test_parse_params_names_the_bad_item(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        parse_params(text)


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
    ],
)
def test_usd_filter(value: float, text: str) -> None:
    assert usd(value) == text
