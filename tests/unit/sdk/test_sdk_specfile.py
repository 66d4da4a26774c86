from pathlib import Path

import pytest

from dojo import specfile
from dojo.errors import SpecError
from dojo.v1 import job_pb2

REPO = Path(__file__).resolve().parents[3]

GOOD = """
name: digits-mlp
model: {architecture: mlp, params: {hidden: 128, layers: 2}}
dataset: {name: digits}
training: {steps: 300, batch_size: 64, optimizer: adam, learning_rate: 3e-3,
           precision: bf16, checkpoint_interval: 100, seed: 7}
resources: {accelerators: [dojo-tile, gpu-h100], count: 1}
limits: {max_runtime_seconds: 900}
"""


def test_parses_every_section() -> None:
    spec = specfile.parse_yaml(GOOD)
    assert spec.name == "digits-mlp"
    assert dict(spec.model.params) == {"hidden": 128, "layers": 2}
    assert spec.training.learning_rate == pytest.approx(0.003)  # "3e-3" is a str to PyYAML
    assert spec.training.precision == "bf16"
    assert list(spec.resources.accelerators) == ["dojo-tile", "gpu-h100"]
    assert spec.limits.max_runtime_seconds == 900


def test_example_file_loads() -> None:
    spec = specfile.load(REPO / "examples" / "digits-mlp.yaml")
    assert isinstance(spec, job_pb2.JobSpec)
    assert spec.resources.accelerators[0] == "dojo-tile"
    assert spec.training.steps > 0


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ("trainin: {steps: 1}", "trainin", "unknown key"),
        ("training: {stepz: 1}", "training.stepz", "unknown key"),
        ("training: {steps: many}", "training.steps", "integer"),
        ("training: {learning_rate: fast}", "training.learning_rate", "number"),
        ("training: 5", "training", "mapping"),
        ("model: {params: {hidden: big}}", "model.params.hidden", "integer"),
        ("resources: {accelerators: dojo-tile}", "resources.accelerators", "list"),
        ("resources: {accelerators: [1]}", "resources.accelerators[0]", "string"),
        ("name: [a]", "name", "string"),
    ],
)
def test_bad_keys_are_named_with_their_path_and_file(text: str, path: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        specfile.parse_yaml(text, source="job.yaml")
    err = info.value
    assert [v.field for v in err.field_violations] == [path]
    assert words in err.field_violations[0].description
    assert "job.yaml" in str(err) and path in str(err)
    assert err.source == "job.yaml"


def test_every_bad_key_is_reported_at_once() -> None:
    with pytest.raises(SpecError) as info:
        specfile.parse_yaml("nmae: x\ntraining: {steps: x, sed: 1}\n")
    assert sorted(v.field for v in info.value.field_violations) == [
        "nmae",
        "training.sed",
        "training.steps",
    ]


@pytest.mark.parametrize("text", ["- a\n- b", "just text", "a: [b"])
def test_not_a_mapping_or_not_yaml(text: str) -> None:
    with pytest.raises(SpecError, match="<string>"):
        specfile.parse_yaml(text)


def test_empty_document_is_an_empty_spec() -> None:
    assert specfile.parse_yaml("") == job_pb2.JobSpec()


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="nope.yaml"):
        specfile.load(tmp_path / "nope.yaml")
