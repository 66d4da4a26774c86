"""Mapper at the platform → runtime edge: a validated JobSpec becomes a TrainConfig."""

from __future__ import annotations

from dojo.v1 import job_pb2
from dojo_runtime.config import CustomData, CustomModel, TrainConfig

ONNX = "onnx"


def train_config(
    spec: job_pb2.JobSpec,
    *,
    dataset: CustomData | None = None,
    model: CustomModel | None = None,
    accelerator: str | None = None,
    device_count: int | None = None,
) -> TrainConfig:
    """`dataset`: the uploaded dataset's shapes when the spec names one (validation's
    `dataset_of` resolves it within the job's organization); `model`: the uploaded ONNX
    model when the spec names one in `model.onnx` (`model_of`)."""
    t = spec.training
    return TrainConfig(
        architecture=ONNX if spec.model.onnx else spec.model.architecture,
        model_params={k: int(v) for k, v in spec.model.params.items()},
        dataset=spec.dataset.name,
        dataset_meta=dataset,
        steps=int(t.steps),
        batch_size=int(t.batch_size),
        optimizer=t.optimizer,
        learning_rate=float(t.learning_rate),
        precision=t.precision,
        seed=int(t.seed),
        accelerator=accelerator or spec.resources.accelerators[0],
        device_count=device_count or int(spec.resources.count),
        custom_model=model,
    )
