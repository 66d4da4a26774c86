"""The catalog's architectures, their size parameters, and field-level validation.

Bounds are wide enough to *estimate* GPT-3-class models (the estimator only profiles them on
meta tensors); whether a size is trainable on a worker is the platform's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dojo_runtime.data import BUILT_IN, DATASETS, REGRESSION, describe

Violation = tuple[str, str]  # (field path, message)
SHOWN_CHARS = 60  # of an echoed value: a message names what was sent, not a megabyte of it


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


@dataclass(frozen=True)
class ParamSpec:
    default: int
    minimum: int
    maximum: int
    help: str


@dataclass(frozen=True)
class ArchitectureInfo:
    name: str
    description: str
    params: Mapping[str, ParamSpec]
    datasets: tuple[str, ...] = field(default=())


def _transformer(d_max: int, layers_max: int) -> dict[str, ParamSpec]:
    return {
        "d_model": ParamSpec(64, 16, d_max, "width of the token vectors"),
        "layers": ParamSpec(2, 1, layers_max, "transformer blocks"),
        "heads": ParamSpec(4, 1, 128, "attention heads; must divide d_model"),
    }


def _suits(arch: str) -> tuple[str, ...]:
    return tuple(name for name, entry in DATASETS.items() if arch in entry.architectures)


ARCHITECTURES: Mapping[str, ArchitectureInfo] = {
    "mlp": ArchitectureInfo(
        "mlp",
        "multi-layer perceptron with ReLU",
        {
            "hidden": ParamSpec(128, 8, 8192, "units per hidden layer"),
            "layers": ParamSpec(2, 1, 32, "hidden layers"),
        },
        _suits("mlp"),
    ),
    "cnn": ArchitectureInfo(
        "cnn",
        "small ResNet-style convolutional network (pre-activation residual blocks)",
        {
            "channels": ParamSpec(32, 4, 512, "feature channels"),
            "blocks": ParamSpec(2, 1, 16, "residual blocks of two 3x3 convolutions"),
        },
        _suits("cnn"),
    ),
    "gpt": ArchitectureInfo(
        "gpt",
        "GPT-style decoder-only byte language model",
        {**_transformer(16384, 128), "context": ParamSpec(64, 8, 8192, "tokens per window")},
        _suits("gpt"),
    ),
    "vit": ArchitectureInfo(
        "vit",
        "vision transformer over square patches",
        {**_transformer(4096, 48), "patch": ParamSpec(4, 1, 32, "patch side; divides the image")},
        _suits("vit"),
    ),
    "video": ArchitectureInfo(
        "video",
        "space-time video transformer with divided (time, space) attention",
        {**_transformer(4096, 48), "patch": ParamSpec(4, 1, 32, "patch side; divides a frame")},
        _suits("video"),
    ),
}


def resolve_params(architecture: str, params: Mapping[str, int]) -> dict[str, int]:
    """The architecture's defaults overridden by the given params (assumed valid)."""
    specs = ARCHITECTURES[architecture].params
    return {name: int(params.get(name, spec.default)) for name, spec in specs.items()}


def validate_params(architecture: str, params: Mapping[str, int], dataset: str) -> list[Violation]:
    """Every problem with (architecture, size params, dataset) as (field path, message)."""
    if architecture == "onnx":  # an imported model: judged against the data when built
        return [("model.params", "an imported model takes no size parameters")] if params else []
    info = ARCHITECTURES.get(architecture)
    if info is None:
        return [
            (
                "model.architecture",
                f"unknown architecture {_shown(architecture)}; choose one of {sorted(ARCHITECTURES)}",
            )
        ]
    errors = _param_errors(info, params)
    if dataset not in DATASETS:
        errors.append(
            ("dataset.name", f"unknown dataset {_shown(dataset)}; choose one of {list(BUILT_IN)}")
        )
    elif DATASETS[dataset].task == REGRESSION:
        errors.append(
            (
                "dataset.name",
                f"holds float32 targets (regression); {architecture} trains classification "
                "only: name an uploaded ONNX model (model.onnx) with model.task: regression",
            )
        )
    elif dataset not in info.datasets:
        errors.append(
            (
                "dataset.name",
                f"{architecture} does not train on {_shown(dataset)}; it accepts {list(info.datasets)}",
            )
        )
    if not errors:
        errors += _shape_errors(architecture, resolve_params(architecture, params), dataset)
    return errors


def _param_errors(info: ArchitectureInfo, params: Mapping[str, int]) -> list[Violation]:
    errors: list[Violation] = []
    for name, value in params.items():
        spec = info.params.get(name)
        path = f"model.params.{name}"
        if spec is None:
            errors.append(
                (path, f"{info.name} has no parameter {_shown(name)}; it has {sorted(info.params)}")
            )
        elif not isinstance(value, int) or isinstance(value, bool):
            errors.append((path, f"must be an integer, got {_shown(value)}"))
        elif not spec.minimum <= value <= spec.maximum:
            errors.append((path, f"must be between {spec.minimum} and {spec.maximum}, got {value}"))
    return errors


def _shape_errors(architecture: str, p: Mapping[str, int], dataset: str) -> list[Violation]:
    errors: list[Violation] = []
    if "heads" in p and p["d_model"] % p["heads"]:
        errors.append(
            ("model.params.heads", f"{p['heads']} heads do not divide d_model {p['d_model']}")
        )
    if "patch" in p and not DATASETS[dataset].customer:  # uploaded images: checked at build
        h, w = describe(dataset).input_shape[-2:]
        if h % p["patch"] or w % p["patch"]:
            errors.append(
                (
                    "model.params.patch",
                    f"{p['patch']} does not divide the {h}x{w} images of {dataset}",
                )
            )
    return errors
