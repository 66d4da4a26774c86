"""Model catalog: MLP, ResNet-style CNN, GPT-style decoder LM, ViT and a space-time video
transformer, with size parameters. Models call the target's Numerics ops, so its formats and
kernel accounting apply.

    errors = validate_params("gpt", {"d_model": 128}, "tiny-shakespeare")  # [(field, msg)]
    model = build_model(config, numerics, data_info)
    kernels, grad_bytes = step_profile(config)     # one fwd+bwd+update step, on meta tensors
    split = parameter_split(config)                # parameters by storage role (footprint)
"""

from __future__ import annotations

import functools

import torch

from dojo_runtime.catalog import imported
from dojo_runtime.catalog.footprint import (
    ParameterSplit,
    activation_bytes_per_sample,
    parameter_split,
)
from dojo_runtime.catalog.layers import NumericsModule, init_model
from dojo_runtime.catalog.models import MODEL_CLASSES
from dojo_runtime.catalog.numerics_api import Numerics, PlainTorchNumerics
from dojo_runtime.catalog.profile import (
    data_info_for,
    gradient_bytes,
    optimizer_kernel,
    sample_batch,
    trace_step,
    tracing_numerics,
)
from dojo_runtime.catalog.registry import (
    ARCHITECTURES,
    ArchitectureInfo,
    ParamSpec,
    resolve_params,
    validate_params,
)
from dojo_runtime.config import CustomData, CustomModel, TrainConfig
from dojo_runtime.data import DataInfo, kind_of
from dojo_runtime.kernels import KernelCall

__all__ = [
    "ARCHITECTURES",
    "ArchitectureInfo",
    "Numerics",
    "NumericsModule",
    "ParamSpec",
    "ParameterSplit",
    "PlainTorchNumerics",
    "activation_bytes_per_sample",
    "build_model",
    "data_info_for",
    "parameter_count",
    "parameter_split",
    "resolve_params",
    "step_profile",
    "validate_params",
]


def build_model(config: TrainConfig, numerics: Numerics, data_info: DataInfo) -> NumericsModule:
    """The config's model on the CPU, weights initialised from config.seed."""
    model = _construct(config, numerics, data_info)
    init_model(model, config.seed)
    return model


def step_profile(config: TrainConfig) -> tuple[list[KernelCall], float]:
    """Kernels of one training step (forward, backward, optimizer) and its gradient bytes."""
    kernels, grad_bytes = _cached_profile(
        config.architecture,
        tuple(sorted(config.model_params.items())),
        config.dataset,
        config.dataset_meta,
        config.batch_size,
        config.precision,
        config.optimizer,
        config.custom_model,
    )
    return list(kernels), grad_bytes


def parameter_count(config: TrainConfig) -> int:
    """Trainable parameters of the config's model (counted on meta tensors)."""
    if config.architecture == imported.ONNX:
        return sum(imported.parameter_roles(config))
    with torch.device("meta"):
        model = _construct(config, PlainTorchNumerics(), data_info_for(config))
    return sum(p.numel() for p in model.parameters())


def _construct(config: TrainConfig, numerics: Numerics, info: DataInfo) -> NumericsModule:
    if config.architecture == imported.ONNX:
        return imported.build(config, numerics, info)
    errors = validate_params(config.architecture, config.model_params, kind_of(config))
    if errors:
        field, message = errors[0]
        raise ValueError(f"{field}: {message}")
    params = resolve_params(config.architecture, config.model_params)
    return MODEL_CLASSES[config.architecture](numerics, params, info)


@functools.lru_cache(maxsize=256)
def _cached_profile(
    architecture: str,
    params: tuple[tuple[str, int], ...],
    dataset: str,
    meta: CustomData | None,
    batch_size: int,
    precision: str,
    optimizer: str,
    custom_model: CustomModel | None,
) -> tuple[tuple[KernelCall, ...], float]:
    config = TrainConfig(
        architecture,
        dict(params),
        dataset,
        meta,
        batch_size=batch_size,
        precision=precision,
        optimizer=optimizer,
        custom_model=custom_model,
    )
    calls: list[KernelCall] = []
    nx = tracing_numerics(precision, calls)
    info = data_info_for(config)
    with torch.device("meta"):
        model = _construct(config, nx, info).to("meta")  # an import's weights come from its file
    # Forward outside the device context: its function mode would route every op through
    # Python decompositions; explicit meta inputs keep the ops on their fast meta kernels.
    x, y = sample_batch(info, batch_size, "meta")
    trace_step(model, x, y, nx, calls, info.task)
    n_params = sum(p.numel() for p in model.parameters())
    calls.append(optimizer_kernel(optimizer, n_params))
    return tuple(calls), gradient_bytes(precision, n_params)
