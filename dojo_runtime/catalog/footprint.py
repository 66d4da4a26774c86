"""What a catalog model holds in memory, counted on meta tensors (no storage, no arithmetic).

Per model shape (architecture, size params, dataset, precision), computed once and kept in a
bounded LRU cache:

- `parameter_split`: the trainable parameters by the storage role the numerics give them:
  "weight" (linear and convolution kernels, embedding and position tables) and "vector"
  (biases, layer-norm gains and offsets). Building the model on the meta device costs tens
  of milliseconds even at the catalog's largest sizes (4e11 parameters).
- `activation_bytes_per_sample`: the bytes every forward op writes for one sample, in the
  activation format, from the step's kernel trace through the real ops
  (`catalog.step_profile`, whose own cache the estimate then reuses: one trace serves
  both). Every op's output scales with the batch (no op of the catalog mixes samples), so
  the trace at any batch B gives B times this, exactly. Tracing walks every layer, up to a
  second for the deepest models: callers that can refuse a job on its parameters alone do
  so first.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from dataclasses import dataclass

import torch

from dojo_runtime.catalog import imported
from dojo_runtime.catalog.layers import LayerNorm
from dojo_runtime.catalog.models import MODEL_CLASSES
from dojo_runtime.catalog.numerics_api import PlainTorchNumerics
from dojo_runtime.catalog.profile import data_info_for
from dojo_runtime.catalog.registry import resolve_params, validate_params
from dojo_runtime.config import CustomData, CustomModel, TrainConfig
from dojo_runtime.data import kind_of

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
        from dojo_runtime.catalog import step_profile  # the package imports this module

        kernels, _ = step_profile(config)
        written = sum(k.bytes_written for k in kernels if k.phase == "forward")
        hit = math.ceil(written / max(config.batch_size, 1))
        ACTIVATIONS.put(key, hit)
    return hit


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
