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
  parameters) drop out and the figure at any batch B is B times it, exactly. Walking every
  layer takes up to a second for the deepest models: callers that can refuse a job on its
  parameters alone do so first.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F

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
        one, two = (_saved_elements(key, batch) for batch in (1, 2))
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
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        ctx.save_for_backward(q, k, v, out, q.new_empty(q.shape[:-1]))
        return out


class _FootprintNumerics(PlainTorchNumerics):
    def attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool
    ) -> torch.Tensor:
        out: torch.Tensor = _FusedAttention.apply(q, k, v, causal)  # type: ignore[no-untyped-call]
        return out


def _saved_elements(key: ShapeKey, batch: int) -> tuple[int, int]:
    """(elements of every tensor the forward pass and loss save for backward, each storage
    once and parameters left out; elements of the largest of them) at `batch` samples."""
    config = _config(key)
    info = data_info_for(config)
    if config.architecture == imported.ONNX:  # built from the file's initializers
        model = imported.build(config, _FootprintNumerics(), info).to("meta")
    else:
        params = resolve_params(config.architecture, config.model_params)
        with torch.device("meta"):
            model = MODEL_CLASSES[config.architecture](_FootprintNumerics(), params, info)
    weights = {p.untyped_storage()._cdata for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage._cdata not in weights:
            saved[storage._cdata] = max(saved.get(storage._cdata, 0), storage.nbytes())
        return t

    x, y = sample_batch(info, batch, "meta")
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        task_loss(PlainTorchNumerics(), info.task, model(x), y)
    sizes = [n // 4 for n in saved.values()]  # meta tensors here are FP32 (or int64 ids)
    return sum(sizes), max(sizes, default=0)


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
