"""What a catalog model holds in memory, counted on meta tensors (no storage, no arithmetic).

Per model shape (architecture, size params, dataset, precision), computed once and kept in a
bounded LRU cache:

- `parameter_split`: the trainable parameters by the storage role the numerics give them:
  "weight" (linear and convolution kernels, embedding and position tables) and "vector"
  (biases, layer-norm gains and offsets). Building the model on the meta device costs tens
  of milliseconds even at the catalog's largest sizes (4e11 parameters).
- `activation_bytes_per_sample`: what the backward pass needs of one sample, in the
  activation format: every tensor autograd saves in the forward pass (each storage once,
  parameters excluded; caught with `torch.autograd.graph.saved_tensors_hooks` on a forward
  over meta tensors), plus three of the largest of them for the buffers in flight in a
  backward op (its output gradient, its input gradient and one temporary of the
  derivative). A tensor no
  backward needs (a norm's output that only feeds a ReLU, a residual branch after its add)
  is freed in the forward pass and not counted. The per-sample figure is the difference of
  batches of 2 and 1, so parts that do not grow with the batch (masks, statistics of
  parameters) drop out and the figure at any batch B is B times it, exactly. The model is
  built once for both batches, and the ops whose meta kernels are slow Python (linear, layer
  norm, GELU, adds, attention, the loss) are replaced by ones that keep exactly what torch's
  keep and compute nothing, so both forwards together cost less than tracing the step's
  kernels does. Walking every layer still takes a noticeable time for the deepest models:
  callers that can refuse a job on its parameters alone do so first.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dojo_runtime.catalog import imported
from dojo_runtime.catalog.layers import LayerNorm
from dojo_runtime.catalog.losses import task_loss
from dojo_runtime.catalog.models import MODEL_CLASSES
from dojo_runtime.catalog.numerics_api import PlainTorchNumerics
from dojo_runtime.catalog.profile import data_info_for, sample_batch
from dojo_runtime.catalog.registry import resolve_params, validate_params
from dojo_runtime.config import CustomData, CustomModel, TrainConfig
from dojo_runtime.data import kind_of
from dojo_runtime.ops import make_policy

CACHE_SIZE = 512  # shapes; an entry is a few integers
ShapeKey = tuple[str, tuple[tuple[str, int], ...], str, CustomData | None, str, CustomModel | None]


@dataclass(frozen=True)
class ParameterSplit:
    weight: int  # stored in the policy's "weight" format
    vector: int  # stored in the policy's "vector" format

    @property
    def total(self) -> int:
        return self.weight + self.vector


def shape_key(config: TrainConfig) -> ShapeKey:
    """The parts of a config that decide the model's shapes and storage formats."""
    return (
        config.architecture,
        tuple(sorted(config.model_params.items())),
        config.dataset,
        config.dataset_meta,
        config.precision,
        config.custom_model,
    )


def parameter_split(config: TrainConfig) -> ParameterSplit:
    return _split(shape_key(config))


def activation_bytes_per_sample(config: TrainConfig) -> int:
    key = shape_key(config)
    hit = ACTIVATIONS.get(key)
    if hit is None:
        width = make_policy(config.precision).fmt("activation").storage_bytes
        one, two = _saved_at(key, (1, 2))
        hit = math.ceil((two[0] - one[0] + IN_FLIGHT * (two[1] - one[1])) * width)
        ACTIVATIONS.put(key, hit)
    return hit


IN_FLIGHT = 3  # largest-tensor-sized buffers live at once in a backward op: the output
# gradient, the input gradient and one temporary of the derivative (GELU's, a norm's)


class _FusedAttention(torch.autograd.Function):
    """Attention as a fused kernel keeps it for backward: q, k, v, the output and one
    log-sum-exp per query row, never the T x T scores (SDPA's math path, which meta tensors
    take, would save those)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        causal: bool,
    ) -> torch.Tensor:
        out = q.new_empty((*q.shape[:-1], v.shape[-1]))  # SDPA's output shape, not computed
        ctx.save_for_backward(q, k, v, out, q.new_empty(q.shape[:-1]))
        return out


# The ops below keep for backward exactly what PyTorch's own autograd nodes keep (named in
# each docstring) and return an uncomputed output of the op's shape. On meta tensors the
# real ops run Python meta kernels and decompositions, several milliseconds each; these
# cost microseconds, so counting a model's saved tensors costs about what tracing its step
# does. tests/unit/runtime_cost/test_runtime_footprint_fast.py checks them against the ops.


class _LayerNorm(torch.autograd.Function):
    """NativeLayerNormBackward0: input, weight, bias, mean and rstd (one per row)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        dims: int,
        w: torch.Tensor | None,
        b: torch.Tensor | None,
    ) -> torch.Tensor:
        stats = (*x.shape[: x.dim() - dims], *([1] * dims))
        kept = (x, w, b, x.new_empty(stats), x.new_empty(stats))
        ctx.save_for_backward(*(t for t in kept if t is not None))
        return torch.empty_like(x)


class _Linear(torch.autograd.Function):
    """MmBackward0 / AddmmBackward0 on the input folded to 2-D: the folded input (a copy
    where the input cannot be viewed so, as torch's reshape makes it) and the weight."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None,
    ) -> torch.Tensor:
        ctx.save_for_backward(x if x.dim() == 2 else x.reshape(-1, x.shape[-1]), w)
        return x.new_empty((*x.shape[:-1], w.shape[0]))


class _Add(torch.autograd.Function):
    """AddBackward0: nothing (the gradient passes through, reduced where broadcast)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, b: torch.Tensor
    ) -> torch.Tensor:
        return a.new_empty(torch.broadcast_shapes(a.shape, b.shape))  # type: ignore[no-untyped-call]


class _Gelu(torch.autograd.Function):
    """GeluBackward0: its input."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.empty_like(x)


class _CrossEntropy(torch.autograd.Function):
    """log_softmax then nll_loss (mean): LogSoftmaxBackward0 keeps its result,
    NllLossBackward0 that same result, the targets and the total weight (a scalar)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, logits: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        log_probs = torch.empty_like(logits)
        ctx.save_for_backward(log_probs, target, logits.new_empty(()))
        return logits.new_empty(())


class _FootprintNumerics(PlainTorchNumerics):
    def attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool
    ) -> torch.Tensor:
        out: torch.Tensor = _FusedAttention.apply(q, k, v, causal)  # type: ignore[no-untyped-call]
        return out

    def linear(
        self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None
    ) -> torch.Tensor:
        if x.dim() < 2 or w.dim() != 2 or x.shape[-1] != w.shape[1]:
            return super().linear(x, w, b)  # let torch name the mismatch
        out: torch.Tensor = _Linear.apply(x, w, b)  # type: ignore[no-untyped-call]
        return out

    def layer_norm(
        self,
        x: torch.Tensor,
        shape: Sequence[int],
        w: torch.Tensor | None,
        b: torch.Tensor | None,
        eps: float = 1e-5,
    ) -> torch.Tensor:
        if tuple(x.shape[x.dim() - len(shape) :]) != tuple(shape):
            return super().layer_norm(x, shape, w, b, eps)  # let torch name the mismatch
        out: torch.Tensor = _LayerNorm.apply(x, len(shape), w, b)  # type: ignore[no-untyped-call]
        return out

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.dtype != b.dtype:
            return super().add(a, b)  # type promotion: torch's own rule
        out: torch.Tensor = _Add.apply(a, b)  # type: ignore[no-untyped-call]
        return out

    def residual(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.add(a, b)

    def gelu(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = _Gelu.apply(x)  # type: ignore[no-untyped-call]
        return out

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = _CrossEntropy.apply(logits, target)  # type: ignore[no-untyped-call]
        return out


def _saved_elements(key: ShapeKey, batch: int) -> tuple[int, int]:
    """(elements of every tensor the forward pass and loss save for backward, each storage
    once and parameters left out; elements of the largest of them) at `batch` samples."""
    return _saved_at(key, (batch,))[0]


def _saved_at(
    key: ShapeKey, batches: Sequence[int], numerics: type[PlainTorchNumerics] | None = None
) -> list[tuple[int, int]]:
    """`_saved_elements` at each of `batches`, the model built once (with `numerics`, by
    default the fast footprint ops; tests pass torch's own ops as the reference)."""
    config = _config(key)
    info = data_info_for(config)
    nx = (numerics or _FootprintNumerics)()
    if config.architecture == imported.ONNX:  # built from the file's initializers
        model = imported.build(config, nx, info).to("meta")
    else:
        params = resolve_params(config.architecture, config.model_params)
        with torch.device("meta"):
            model = MODEL_CLASSES[config.architecture](nx, params, info)
    weights = {p.untyped_storage()._cdata for p in model.parameters()}
    counts = []
    for batch in batches:
        saved: dict[int, int] = {}

        def pack(t: torch.Tensor, saved: dict[int, int] = saved) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage._cdata not in weights:
                saved[storage._cdata] = max(saved.get(storage._cdata, 0), storage.nbytes())
            return t

        x, y = sample_batch(info, batch, "meta")
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            task_loss(nx, info.task, model(x), y)
        sizes = [n // 4 for n in saved.values()]  # meta tensors here are FP32 (or int64 ids)
        counts.append((sum(sizes), max(sizes, default=0)))
    return counts


class BoundedCache:
    """A least-recently-used map of at most `maxsize` entries."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[ShapeKey, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: ShapeKey) -> int | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: ShapeKey, value: int) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


ACTIVATIONS = BoundedCache(CACHE_SIZE)


def cache_clear() -> None:
    """Forget every counted shape (benchmarks measure the uncached cost)."""
    _split.cache_clear()
    ACTIVATIONS.clear()


def _config(key: ShapeKey) -> TrainConfig:
    arch, params, dataset, meta, precision, model = key
    return TrainConfig(
        arch, dict(params), dataset, meta, batch_size=1, precision=precision, custom_model=model
    )


@functools.lru_cache(maxsize=CACHE_SIZE)
def _split(key: ShapeKey) -> ParameterSplit:
    config = _config(key)
    if config.architecture == imported.ONNX:
        return ParameterSplit(*imported.parameter_roles(config))
    errors = validate_params(config.architecture, config.model_params, kind_of(config))
    if errors:
        raise ValueError(f"{errors[0][0]}: {errors[0][1]}")
    params = resolve_params(config.architecture, config.model_params)
    with torch.device("meta"):
        model = MODEL_CLASSES[config.architecture](
            PlainTorchNumerics(), params, data_info_for(config)
        )
    weight = vector = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            # Numerics round norm parameters and biases as "vector", kernels and tables as
            # "weight" (dojo_runtime.ops.numerics).
            if isinstance(module, LayerNorm) or name == "bias":
                vector += p.numel()
            else:
                weight += p.numel()
    return ParameterSplit(weight, vector)
