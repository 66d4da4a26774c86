"""Customer ONNX models as trainable modules: a converter of our own (bytes in, module out).

    graph = parse(data)              # OnnxImportError naming the node / tensor if unusable
    check(graph)                     # unsupported operators, and one forward on meta tensors
    summary = summarize(graph)       # inputs, outputs, op counts, parameters
    module = OnnxModule(numerics, graph)   # initializers -> parameters; forward(x) -> output 0

The operator subset is `OPS` (README: "Models the customer brings"). Matrix products,
convolutions, norms, pooling, softmax, ReLU/GELU and residual adds run on the job's
numerics (emulated formats, kernel costs), as the catalog's layers do; reshaping, indexing
and the remaining elementwise math run as plain torch.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import torch

from dojo_runtime.catalog.numerics_api import PlainTorchNumerics
from dojo_runtime.onnx_import.graph import OnnxGraph, OnnxImportError, ValueInfo, parse
from dojo_runtime.onnx_import.module import (
    OPS,
    OnnxModule,
    check_operators,
    trainable_initializers,
)

__all__ = [
    "OPS",
    "ModelSummary",
    "OnnxGraph",
    "OnnxImportError",
    "OnnxModule",
    "ValueInfo",
    "check",
    "parse",
    "parse_cached",
    "sample_input",
    "summarize",
    "trainable_initializers",
]

PROBE_BATCH = 2  # the batch a symbolic first dimension takes when the graph is probed


@dataclass(frozen=True)
class ModelSummary:
    inputs: tuple[ValueInfo, ...]
    outputs: tuple[ValueInfo, ...]
    op_counts: dict[str, int]
    parameters: int  # trainable values (the float initializers that become parameters)
    opset: int


def summarize(graph: OnnxGraph) -> ModelSummary:
    params = sum(graph.initializers[n].size for n in trainable_initializers(graph))
    return ModelSummary(graph.inputs, graph.outputs, graph.op_counts(), int(params), graph.opset)


def sample_input(
    info: ValueInfo, batch: int, device: str = "meta", sample_shape: tuple[int, ...] | None = None
) -> torch.Tensor:
    """A zero batch shaped as the graph's input: the first dimension is the batch; the
    rest from `sample_shape` if given, else the graph's fixed dimensions."""
    if sample_shape is None:
        rest = info.shape[1:]
        if any(not isinstance(d, int) or d < 1 for d in rest):
            raise OnnxImportError(
                f"input {info.name!r} has dynamic dimensions {list(info.shape)} beyond the "
                "batch; export with fixed sample dimensions"
            )
        sample_shape = tuple(int(d) for d in rest)
    dtype = torch.long if info.dtype.startswith("int") else torch.float32
    return torch.zeros(batch, *sample_shape, dtype=dtype, device=device)


def check(graph: OnnxGraph) -> None:
    """Supported operators only, one input, and a forward pass that runs (on meta tensors,
    so nothing is computed): OnnxImportError naming the node that fails."""
    check_operators(graph)
    if not graph.inputs[0].shape:
        raise OnnxImportError(f"input {graph.inputs[0].name!r} has no declared shape")
    module = OnnxModule(PlainTorchNumerics(), graph).to("meta")
    with torch.no_grad():
        module(sample_input(graph.inputs[0], PROBE_BATCH))


_PARSED: OrderedDict[str, OnnxGraph] = OrderedDict()
PARSED_CACHE = 4  # graphs; a ResNet-50's weights are 100 MB


def parse_cached(sha256: str, data: bytes) -> OnnxGraph:
    """parse(), once per file: keyed by the sha256 the platform recorded at upload."""
    graph = _PARSED.get(sha256)
    if graph is None:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise OnnxImportError("the model's bytes do not match its sha256")
        graph = parse(data)
        _PARSED[sha256] = graph
        while len(_PARSED) > PARSED_CACHE:
            _PARSED.popitem(last=False)
    _PARSED.move_to_end(sha256)
    return graph
