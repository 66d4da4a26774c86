"""Peak memory per device of a data-parallel training job, and whether it fits a device.

Every device of a data-parallel job holds the whole model and its share of the batch, so
per device, in the job's precision (dojo_runtime.ops.policy formats):

- weights: the working copy the kernels read, matrices and tables in the "weight" format,
  biases and norm parameters in the "vector" format (fp32: 4 B, bf16: 2 B, cfp8: 1 B and
  2 B);
- gradients: one per parameter in the "gradient" format;
- optimizer state: FP32 moments as the engine's optimizers keep them (Adam/AdamW 2, SGD
  with momentum 1 per parameter), plus an FP32 master copy of the weights where the weight
  format is narrower than FP32 (mixed precision: bf16 + Adam is 2 + 2 + 12 = 16 bytes per
  parameter, as in Rajbhandari et al., "ZeRO", 2020);
- activations: what autograd keeps for the backward pass at the per-device batch,
  ceil(batch / devices), in the activation format: every tensor a forward op saves (each
  storage once; attention counts as a fused kernel, which saves q, k, v and its output, not
  the T x T scores), plus three of the largest of them in flight in a backward op (see
  dojo_runtime.catalog.footprint).

The peak is taken as the sum, as if every saved activation, weight, gradient and optimizer
buffer were live at once in the backward pass (an upper bound on the device's live set). Not
counted: the input batch (integers or pixels, small beside the activations), framework
workspace (convolution algorithms, allocator slack) and fragmentation.

Counts come from the catalog's shapes on meta tensors (dojo_runtime.catalog.footprint),
cached per shape. `fits` asks the cheap question first (the parameters' share, which no
batch size or device count changes) and traces the activations only when that fits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dojo_runtime.config import TrainConfig
from dojo_runtime.ops import make_policy
from dojo_runtime.specs import HardwareSpecs, device_memory, load_hardware

FP32_BYTES = 4
OPTIMIZER_MOMENTS = {"sgd": 1, "adam": 2, "adamw": 2}  # FP32 buffers per parameter
GIB = float(2**30)


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one device holds at the peak of a training step."""

    parameters: int
    per_device_batch: int  # 0: the activations were not counted (model state only)
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    activation_bytes: int

    @property
    def model_state_bytes(self) -> int:
        """What the parameters cost whatever the batch: weights, gradients, optimizer."""
        return self.weight_bytes + self.gradient_bytes + self.optimizer_bytes

    @property
    def peak_bytes(self) -> int:
        return self.model_state_bytes + self.activation_bytes


@dataclass(frozen=True)
class Fit:
    """One option's peak memory per device against what a device has."""

    accelerator: str
    count: int
    needed_bytes: int  # a lower bound (the model state) when `complete` is False
    available_bytes: int
    complete: bool  # False: refused on the model state, activations not traced

    @property
    def fits(self) -> bool:
        return self.complete and self.needed_bytes <= self.available_bytes

    def describe(self) -> str:
        """e.g. "needs 41.3 GiB per device, gpu-a100 has 37.3 GiB"."""
        need = f"{self.needed_bytes / GIB:.3g} GiB"
        if not self.complete:
            need = f"at least {need} (weights, gradients and optimizer state alone)"
        return (
            f"needs {need} per device on {self.count} x {self.accelerator}, "
            f"which has {self.available_bytes / GIB:.3g} GiB"
        )


def format_bytes(n: float) -> str:
    """Binary units to three significant digits: "452 KiB", "5.84 GiB", "6.15 TiB"."""
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def per_device_batch(batch_size: int, count: int) -> int:
    """The largest shard of the global batch one of `count` devices takes."""
    return math.ceil(batch_size / max(count, 1))


def model_state(config: TrainConfig) -> MemoryEstimate:
    """Weights, gradients and optimizer state per device (no trace: cheap at any size)."""
    from dojo_runtime.catalog.footprint import parameter_split  # lazy: the catalog is heavy

    split = parameter_split(config)
    policy = make_policy(config.precision)
    weight_fmt, vector_fmt = policy.fmt("weight"), policy.fmt("vector")
    weights = split.weight * weight_fmt.storage_bytes + split.vector * vector_fmt.storage_bytes
    gradients = split.total * policy.fmt("gradient").storage_bytes
    master = split.total * FP32_BYTES if weight_fmt.storage_bytes < FP32_BYTES else 0
    moments = OPTIMIZER_MOMENTS.get(config.optimizer, 2) * split.total * FP32_BYTES
    return MemoryEstimate(
        split.total, 0, math.ceil(weights), math.ceil(gradients), master + moments, 0
    )


def peak_memory(config: TrainConfig, count: int | None = None) -> MemoryEstimate:
    """The peak per device on `count` devices (default: the config's device_count)."""
    from dojo_runtime.catalog.footprint import activation_bytes_per_sample

    state = model_state(config)
    batch = per_device_batch(config.batch_size, count or config.device_count)
    activations = batch * activation_bytes_per_sample(config)
    return MemoryEstimate(
        state.parameters,
        batch,
        state.weight_bytes,
        state.gradient_bytes,
        state.optimizer_bytes,
        activations,
    )


def fits(
    config: TrainConfig, options: Sequence[tuple[str, int]], hw: HardwareSpecs | None = None
) -> list[Fit]:
    """Each (accelerator, count) option's need against its device memory, in order."""
    hw = hw or load_hardware()
    state = model_state(config).model_state_bytes
    out: list[Fit] = []
    for accelerator, count in options:
        available = int(device_memory(hw, accelerator)[0])
        if state > available:
            out.append(Fit(accelerator, count, state, available, False))
        else:
            out.append(
                Fit(accelerator, count, peak_memory(config, count).peak_bytes, available, True)
            )
    return out


def largest_batch_that_fits(config: TrainConfig, fit: Fit) -> int:
    """The global batch size that would fit `fit`'s option (0: not even one sample)."""
    from dojo_runtime.catalog.footprint import activation_bytes_per_sample

    room = fit.available_bytes - model_state(config).model_state_bytes
    per_sample = activation_bytes_per_sample(config) if room > 0 else 0
    if room <= 0 or per_sample <= 0:
        return 0 if room <= 0 else config.batch_size
    return (room // per_sample) * fit.count
