"""The kernels of one training step, counted on meta tensors (no memory, no arithmetic).

The model is built on the meta device and run forward and backward through the real ops
with a *tracing* policy: the target's storage widths and datapath precision, so every
KernelCall carries the same flops and bytes the ops report when the model really runs, but
no rounding (rounding needs values). The optimizer's update and the gradient bytes that the
all-reduce moves are added analytically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch

from dojo_runtime.catalog import imported
from dojo_runtime.catalog.layers import NumericsModule
from dojo_runtime.catalog.losses import task_loss
from dojo_runtime.catalog.registry import resolve_params
from dojo_runtime.config import TrainConfig
from dojo_runtime.data import CLASSIFICATION, LANGUAGE_MODEL, REGRESSION, DataInfo, describe
from dojo_runtime.kernels import KernelCall
from dojo_runtime.ops import Numerics, make_policy
from dojo_runtime.ops.costs import BACKWARD_RATIO

FP32_BYTES = 4.0
# Optimizer update per parameter: (flops, fp32 values read, fp32 values written).
# Adam reads weight, gradient and two moments and writes weight and moments back.
OPTIMIZER_COST: Mapping[str, tuple[float, float, float]] = {
    "sgd": (2.0, 2.0, 1.0),
    "adam": (12.0, 4.0, 3.0),
    "adamw": (14.0, 4.0, 3.0),
}


def data_info_for(config: TrainConfig) -> DataInfo:
    """The dataset's shapes with the language model's window taken from the model's context."""
    if config.architecture == imported.ONNX:
        context = imported.context_of(config)
    else:
        context = resolve_params(config.architecture, config.model_params).get("context", 64)
    return describe(config.dataset, config.dataset_meta, seq_len=context)


def tracing_numerics(precision: str, sink: list[KernelCall]) -> Numerics:
    """Ops that report the target's kernels but compute plain FP32 (so meta tensors work)."""
    target = make_policy(precision)
    # A policy named "fp32" is not emulated; formats and cost_precision still set the
    # reported widths and datapath, exactly as the emulated run reports them.
    policy = dataclasses.replace(target, name="fp32", rounding={})
    return Numerics(policy, on_kernel=sink.append)


def trace_step(
    model: NumericsModule,
    x: torch.Tensor,
    y: torch.Tensor,
    nx: Numerics,
    sink: list[KernelCall],
    task: str = CLASSIFICATION,
) -> None:
    """Forward and loss of one batch, then each forward kernel's backward, as the ops'
    autograd hooks would report them (in reverse order; every op of a catalog model has a
    trainable input upstream, so every one has a backward). Running autograd itself on meta
    tensors goes through Python decompositions and is far slower for large models."""
    start = len(sink)
    with torch.no_grad():
        task_loss(nx, task, model(x), y)
    sink.extend(_backward(call) for call in reversed(sink[start:]))


def _backward(call: KernelCall) -> KernelCall:
    f_ratio, b_ratio = BACKWARD_RATIO[call.kind]
    half = (call.bytes_read + call.bytes_written) * b_ratio / 2
    return KernelCall(call.kind, call.flops * f_ratio, half, half, "backward", call.precision)


def sample_batch(info: DataInfo, batch_size: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    if info.task == LANGUAGE_MODEL:
        x = torch.zeros(batch_size, *info.input_shape, dtype=torch.long, device=device)
        return x, torch.zeros_like(x)
    x = torch.zeros(batch_size, *info.input_shape, device=device)
    if info.task == REGRESSION:
        return x, torch.zeros(batch_size, info.num_classes, device=device)
    return x, torch.zeros(batch_size, dtype=torch.long, device=device)


def optimizer_kernel(optimizer: str, params: int) -> KernelCall:
    flops, reads, writes = OPTIMIZER_COST.get(optimizer, OPTIMIZER_COST["adam"])
    return KernelCall(
        "elementwise",
        flops * params,
        reads * params * FP32_BYTES,
        writes * params * FP32_BYTES,
        phase="optimizer",
        precision="fp32",
    )


def gradient_bytes(precision: str, params: int) -> float:
    """Gradients are all-reduced in the gradient storage format."""
    return params * make_policy(precision).fmt("gradient").storage_bytes
