"""Admission by memory: a job that cannot fit the devices it asks for is refused, naming
the field to change with the figures; of several types, those that fit stay offered."""

from __future__ import annotations

import pytest

from dojo_runtime.catalog.samples import OVERSIZED_GPT
from dojocloud.common.errors import FieldViolation, InvalidArgument
from dojocloud.jobs import facade as jobs
from dojocloud.jobs.validation import validate_spec
from tests.support.people import People, make_spec

TEXT = {"name": "tiny-shakespeare"}
BF16 = {"steps": 10, "learning_rate": 0.001, "precision": "bf16"}
# 4.1e11 parameters (6.6 TB of bf16 + Adam state): what CreateJob used to accept.
ABSURD = {"architecture": "gpt", "params": dict(OVERSIZED_GPT.model_params)}
# 3e8 parameters (4.8 GB of state), 1.6 GB of activations per sample at context 2048.
WIDE = {
    "architecture": "gpt",
    "params": {"d_model": 1024, "layers": 24, "heads": 16, "context": 2048},
}
# 3.2e9 parameters: 51.5 GB of state, more than an A100 40 GB holds; fits a tile or an H100.
MID = {"architecture": "gpt", "params": {"d_model": 4096, "layers": 16, "heads": 32, "context": 64}}


def refusal(**overrides: object) -> FieldViolation:
    with pytest.raises(InvalidArgument) as info:
        validate_spec(make_spec(dataset=TEXT, **overrides))
    [violation] = info.value.violations
    return violation


def test_absurd_model_is_refused_on_its_parameters_with_the_figures() -> None:
    v = refusal(model=ABSURD, training={**BF16, "steps": 10_000_000, "batch_size": 65_536})
    assert v.field == "model.params"
    assert "1 x dojo-tile needs at least 6,147 GiB per device, has 109 GiB" in v.description


def test_more_devices_would_fit_names_resources_count() -> None:
    v = refusal(model=WIDE, training={**BF16, "batch_size": 256})
    assert v.field == "resources.count"
    assert "1 x dojo-tile needs 427 GiB per device, has 109 GiB" in v.description
    assert "5 x dojo-tile hold a batch of 256" in v.description
    assert "training.batch_size to at most 63" in v.description
    five = validate_spec(
        make_spec(
            dataset=TEXT,
            model=WIDE,
            training={**BF16, "batch_size": 256},
            resources={"accelerators": ["dojo-tile"], "count": 5},
        )
    )
    assert five.resources.count == 5


def test_more_than_the_pool_holds_names_the_batch_size() -> None:
    v = refusal(model=WIDE, training={**BF16, "batch_size": 1024})
    assert v.field == "training.batch_size"
    assert "needs 1,695 GiB per device, has 109 GiB" in v.description
    assert "at most 63 fits on 1 x dojo-tile (378 on 6, its largest pool)" in v.description


def test_types_that_do_not_fit_are_dropped_keeping_the_order() -> None:
    valid = validate_spec(
        make_spec(
            dataset=TEXT,
            model=MID,
            training={**BF16, "batch_size": 8},
            resources={"accelerators": ["dojo-tile", "gpu-a100", "gpu-h100"], "count": 1},
        )
    )
    assert list(valid.resources.accelerators) == ["dojo-tile", "gpu-h100"]
    assert valid.resources.count == 1


def test_a_dropped_preferred_type_hands_its_count_to_the_next() -> None:
    # 8 A100s have the peak of 3 H100s (scheduler.core.sizing.equivalent_count).
    valid = validate_spec(
        make_spec(
            dataset=TEXT,
            model=MID,
            training={**BF16, "batch_size": 8},
            resources={"accelerators": ["gpu-a100", "gpu-h100"], "count": 8},
        )
    )
    assert list(valid.resources.accelerators) == ["gpu-h100"] and valid.resources.count == 3


def test_no_type_fits_lists_every_option() -> None:
    v = refusal(
        model=MID,
        training={**BF16, "batch_size": 8},
        resources={"accelerators": ["gpu-a100"], "count": 16},
    )
    assert v.field == "model.params"
    assert "16 x gpu-a100 needs at least 48 GiB per device, has 37.3 GiB" in v.description


def test_submitted_event_says_which_types_were_dropped(people: People) -> None:
    job = jobs.create_job(
        people.member,
        make_spec(
            dataset=TEXT,
            model=MID,
            training={**BF16, "batch_size": 8},
            resources={"accelerators": ["dojo-tile", "gpu-a100"], "count": 1},
        ),
    )
    assert job.accepted_accelerators == ["dojo-tile"]
    [event] = jobs.job_events(people.member, job.id)
    assert "not offered: gpu-a100" in event.data["reason"]


def test_the_old_server_path_option_is_refused_by_name() -> None:
    # `dataset: {name: npz, uri: PATH}` read any file the worker could: it is gone.
    with pytest.raises(InvalidArgument) as info:
        validate_spec(make_spec(dataset={"name": "npz"}))
    [violation] = info.value.violations
    assert violation.field == "dataset.name"
    assert (
        "no longer accepted" in violation.description
        and "dojo datasets upload" in violation.description
    )
