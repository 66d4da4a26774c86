"""The customer's ONNX model ("onnx" architecture) as the catalog serves it: built from the
file the config carries, judged against the dataset's shapes, and traced for its cost like
any catalog model.

What is checked against the data (`fit_errors`): the task suits the data (classification on
labelled arrays, regression on arrays with float targets, language_model on text); the graph has one input whose first dimension is
dynamic (the batch: training and evaluation batches differ in size), whose rank is the
sample's plus one, and whose fixed dimensions equal the sample's; and one forward pass (on
meta tensors) gives a first output of (batch, classes), (batch, k) for k regression targets
((batch,) too when k is 1), or (batch, tokens, vocabulary) for a language model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from dojo_runtime.catalog.layers import NumericsModule
from dojo_runtime.catalog.numerics_api import Numerics, PlainTorchNumerics
from dojo_runtime.config import TrainConfig
from dojo_runtime.data import CLASSIFICATION, LANGUAGE_MODEL, REGRESSION, DataInfo

if TYPE_CHECKING:  # onnx_import builds on the catalog's layers: imported lazily below
    from dojo_runtime.onnx_import import OnnxGraph

ONNX = "onnx"
TASKS = {
    "classification": CLASSIFICATION,
    "regression": REGRESSION,
    "language_model": LANGUAGE_MODEL,
}
# What each kind of data holds, as the task-mismatch message says it.
_HOLDS = {
    CLASSIFICATION: "int64 class labels y (an .npz)",
    REGRESSION: "float32 targets y (an .npz)",
    LANGUAGE_MODEL: "text",
}
DEFAULT_CONTEXT = 64
PROBE_BATCH = 3  # unlike any fixed size an export is likely to bake in
Violation = tuple[str, str]


def graph_of(config: TrainConfig) -> OnnxGraph:
    from dojo_runtime.onnx_import import parse_cached

    model = config.custom_model
    if model is None or not model.graph:
        raise ValueError("model.onnx: an imported model needs its file")
    return parse_cached(model.sha256, model.graph)  # checks the bytes against the sha256


def context_of(config: TrainConfig) -> int:
    """A language model's window: the graph input's token dimension."""
    dims = graph_of(config).inputs[0].shape
    return dims[1] if len(dims) == 2 and isinstance(dims[1], int) else DEFAULT_CONTEXT


def build(config: TrainConfig, nx: Numerics, info: DataInfo) -> NumericsModule:
    """The imported module (weights from the file) once its fit to the data is checked."""
    from dojo_runtime.onnx_import import OnnxImportError, OnnxModule

    errors = fit_errors(config, info)
    if errors:
        raise ValueError(f"{errors[0][0]}: {errors[0][1]}")
    try:
        return OnnxModule(nx, graph_of(config))
    except OnnxImportError as exc:
        raise ValueError(f"model.onnx: {exc}") from exc


def fit_errors(config: TrainConfig, info: DataInfo) -> list[Violation]:
    """Every mismatch between the model and the data, as (field path, message)."""
    from dojo_runtime.onnx_import import OnnxImportError

    model = config.custom_model
    if model is None:
        return [("model.onnx", "is required for an imported model")]
    mismatch = task_error(model.task, info)
    if mismatch:
        return [mismatch]
    try:
        graph = graph_of(config)
        errors = _input_errors(graph, info)
        return errors or _output_errors(graph, info)
    except OnnxImportError as exc:
        return [("model.onnx", str(exc))]


def task_error(task: str, info: DataInfo) -> Violation | None:
    """("model.task", why) when an uploaded model's task cannot train on the data."""
    if task not in TASKS:
        return ("model.task", f"must be one of {sorted(TASKS)}, got {task!r}")
    if TASKS[task] == info.task:
        return None
    fits = [name for name, t in TASKS.items() if t == info.task]
    return (
        "model.task",
        f"{task} does not train on {info.name}, which holds {_HOLDS[info.task]}; "
        f"its task is {fits[0]}",
    )


def _input_errors(graph: OnnxGraph, info: DataInfo) -> list[Violation]:
    if len(graph.inputs) != 1:
        names = [v.name for v in graph.inputs]
        return [("model.onnx", f"the graph must take one input (the samples); it takes {names}")]
    name, dims = graph.inputs[0].name, graph.inputs[0].shape
    want = info.input_shape
    if len(dims) != len(want) + 1:
        return [
            (
                "model.onnx",
                f"input {name!r} is {list(dims)}; the dataset's samples are {list(want)}, "
                f"so it needs rank {len(want) + 1} (batch first)",
            )
        ]
    if isinstance(dims[0], int):
        return [
            (
                "model.onnx",
                f"input {name!r} has a fixed batch dimension {dims[0]}; export with a dynamic "
                f"one (torch.onnx.export(..., dynamic_axes={{{name!r}: {{0: 'batch'}}}}))",
            )
        ]
    bad = [
        i
        for i, (d, w) in enumerate(zip(dims[1:], want, strict=True))
        if isinstance(d, int) and d != w
    ]
    if bad:
        return [("model.onnx", f"input {name!r} is {list(dims)}; the samples are {list(want)}")]
    return []


def _output_errors(graph: OnnxGraph, info: DataInfo) -> list[Violation]:
    from dojo_runtime.onnx_import import OnnxModule, sample_input

    module = OnnxModule(PlainTorchNumerics(), graph).to("meta")
    x = sample_input(graph.inputs[0], PROBE_BATCH, sample_shape=info.input_shape)
    with torch.no_grad():
        out = module(x)
    lead = (PROBE_BATCH, *info.input_shape) if info.task == LANGUAGE_MODEL else (PROBE_BATCH,)
    want = (*lead, info.num_classes)
    scalar = info.task == REGRESSION and info.num_classes == 1 and out.shape == (PROBE_BATCH,)
    if tuple(out.shape) != want and not scalar:
        shown = ["batch", *want[1:]]
        return [
            (
                "model.onnx",
                f"the first output {graph.outputs[0].name!r} must be {shown} for this "
                f"dataset; the graph gives {['batch', *out.shape[1:]]}",
            )
        ]
    return []


def parameter_roles(config: TrainConfig) -> tuple[int, int]:
    """(weight, vector) parameter counts: kernels and tables vs biases and norm gains."""
    from dojo_runtime.onnx_import import trainable_initializers

    graph = graph_of(config)
    weight = vector = 0
    for name in trainable_initializers(graph):
        arr = graph.initializers[name]
        if arr.ndim >= 2:
            weight += int(arr.size)
        else:
            vector += int(arr.size)
    return weight, vector
