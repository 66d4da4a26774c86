"""An ONNX file parsed into plain values: nodes, initializers, inputs and outputs.

Customer bytes are data: the file is parsed as a protobuf message only (`onnx` never runs
anything from it), tensors stored outside the file (external data, whose location is a path
the file names) are refused rather than read, and every problem is an OnnxImportError that
names the node, its op type, or the tensor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

MAX_NODES = 20_000  # a larger graph is not a model this platform trains
STANDARD_DOMAINS = ("", "ai.onnx")


class OnnxImportError(ValueError):
    """What is wrong with an ONNX model, naming the node and op type or the tensor."""


@dataclass(frozen=True)
class Node:
    name: str
    op_type: str
    inputs: tuple[str, ...]  # "" marks an omitted optional input
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any]

    def label(self) -> str:
        """How messages name the node: its name (or position) and op type."""
        return f"node {self.name!r} ({self.op_type})"


@dataclass(frozen=True)
class ValueInfo:
    name: str
    shape: tuple[int | str, ...]  # a str is a symbolic (dynamic) dimension
    dtype: str  # numpy dtype name: "float32", "int64", ...


@dataclass(frozen=True)
class OnnxGraph:
    nodes: tuple[Node, ...]
    initializers: Mapping[str, np.ndarray] = field(repr=False)
    inputs: tuple[ValueInfo, ...]  # graph inputs that are not initializers
    outputs: tuple[ValueInfo, ...]
    opset: int

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
        return dict(sorted(counts.items()))


def parse(data: bytes) -> OnnxGraph:
    """The graph of an ONNX file's bytes; OnnxImportError if it is not a usable model."""
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # DecodeError and friends: the bytes are not a ModelProto
        raise OnnxImportError(f"not an ONNX model: {exc.__class__.__name__}: {exc}") from exc
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxImportError("not an ONNX model: the file holds no graph nodes")
    graph = model.graph
    if len(graph.node) > MAX_NODES:
        raise OnnxImportError(f"the graph has {len(graph.node)} nodes; at most {MAX_NODES}")
    opset = _opset(model)
    initializers = {t.name: _tensor(t) for t in graph.initializer}
    nodes = _untie(tuple(_node(n, i) for i, n in enumerate(graph.node)), initializers)
    inputs = tuple(_value(v) for v in graph.input if v.name not in initializers)
    outputs = tuple(_value(v) for v in graph.output)
    if not inputs or not outputs:
        raise OnnxImportError("the graph needs at least one input and one output")
    _check_wiring(nodes, initializers, inputs, outputs)
    return OnnxGraph(nodes, initializers, inputs, outputs, opset)


def _opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in STANDARD_DOMAINS:
            return int(entry.version)
    raise OnnxImportError("the model imports no standard ONNX opset")


def _tensor(t: onnx.TensorProto) -> np.ndarray:
    if t.data_location == onnx.TensorProto.EXTERNAL or t.external_data:
        raise OnnxImportError(
            f"initializer {t.name!r}: external data is not accepted; save the model with "
            "its weights inside the file (onnx.save(model, path, save_as_external_data=False))"
        )
    try:
        return np.array(numpy_helper.to_array(t))  # a writable copy
    except Exception as exc:
        raise OnnxImportError(f"initializer {t.name!r}: unreadable tensor: {exc}") from exc


def _node(n: onnx.NodeProto, index: int) -> Node:
    name = n.name or f"#{index}"
    label = f"node {name!r} ({n.op_type})"
    if n.domain not in STANDARD_DOMAINS:
        raise OnnxImportError(f"{label}: operator domain {n.domain!r} is not supported")
    attrs: dict[str, Any] = {}
    for a in n.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            raise OnnxImportError(f"{label}: subgraphs (attribute {a.name!r}) are not supported")
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, onnx.TensorProto):
            value = _tensor(value)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        attrs[a.name] = value
    return Node(name, n.op_type, tuple(n.input), tuple(n.output), attrs)


def _untie(nodes: tuple[Node, ...], initializers: dict[str, np.ndarray]) -> tuple[Node, ...]:
    """The exporter shares equal initializers through Identity nodes (two layer norms'
    fresh gains); each layer trains its own, so each Identity of one becomes a copy."""
    kept = []
    for node in nodes:
        if node.op_type == "Identity" and node.inputs and node.inputs[0] in initializers:
            initializers[node.outputs[0]] = initializers[node.inputs[0]].copy()
        else:
            kept.append(node)
    return tuple(kept)


def _value(v: onnx.ValueInfoProto) -> ValueInfo:
    t = v.type.tensor_type
    dims: list[int | str] = []
    for d in t.shape.dim:
        dims.append(int(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?"))
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)).name
    except Exception:
        dtype = "unknown"
    return ValueInfo(v.name, tuple(dims), dtype)


def _check_wiring(
    nodes: tuple[Node, ...],
    initializers: Mapping[str, np.ndarray],
    inputs: tuple[ValueInfo, ...],
    outputs: tuple[ValueInfo, ...],
) -> None:
    """Every node reads values already defined: the node list is in execution order."""
    known = set(initializers) | {v.name for v in inputs} | {""}
    for node in nodes:
        for name in node.inputs:
            if name not in known:
                raise OnnxImportError(
                    f"{node.label()}: input {name!r} is not produced by an earlier node, "
                    "an initializer or a graph input"
                )
        known.update(node.outputs)
    for out in outputs:
        if out.name not in known:
            raise OnnxImportError(f"graph output {out.name!r} is produced by no node")
