"""Plain inputs and outputs of the training engine, shared with the platform's workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CustomData:
    """An uploaded dataset as the runtime sees it: what the platform recorded when it
    validated the upload, so shapes are known without the bytes (estimates, memory)."""

    kind: str  # "npz" (arrays) | "text" (a UTF-8 corpus)
    sample_shape: tuple[int, ...]  # one sample as models see it; () for text
    num_classes: int  # classes, the byte vocabulary for text, or the targets' width
    size: int  # samples (npz) or bytes (text)
    sha256: str  # of the uploaded file: the bytes handed to load() must match
    targets: int = 0  # npz: width k of float32 targets y (regression); 0: int64 labels


REGRESSION_TASK = "regression"  # an uploaded model's task trained by mean squared error


def loss_function(task: str) -> str:
    """What a job's loss figures are: "mse" for a regression, else "cross_entropy"."""
    return "mse" if task == REGRESSION_TASK else "cross_entropy"


@dataclass(frozen=True)
class CustomModel:
    """An uploaded ONNX model as the runtime sees it: its file (parsed and cached by sha256)
    and the task that picks the loss. Compared and hashed by sha256 and task only."""

    sha256: str
    task: str  # "classification" | "regression" | "language_model"
    graph: bytes = field(default=b"", compare=False, repr=False)  # the .onnx file


@dataclass(frozen=True)
class TrainConfig:
    architecture: str  # "mlp" | "cnn" | "gpt" | "vit" | "video" | "onnx"
    model_params: Mapping[str, int] = field(default_factory=dict)
    dataset: str = "digits"  # built-in name, or an uploaded dataset's resource name
    dataset_meta: CustomData | None = None  # set for an uploaded dataset (its shapes)
    steps: int = 100
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    precision: str = "fp32"  # "fp32" | "bf16" | "cfp8"
    seed: int = 0
    accelerator: str = "dojo-tile"  # target whose numerics and cost model apply
    device_count: int = 1
    custom_model: CustomModel | None = None  # set when architecture == "onnx"


@dataclass(frozen=True)
class StepMetrics:
    step: int  # 1-based count of steps done
    loss: float
    accuracy: float | None  # None where it does not apply
    samples_per_second: float  # wall-clock throughput of this step
    wall_seconds: float  # cumulative wall time of this run
    device_seconds: float  # cumulative modelled device time
    modelled_samples_per_second: float  # throughput the target would reach
