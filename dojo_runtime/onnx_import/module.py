"""An ONNX graph as a trainable module: float initializers become parameters, the nodes run
in file order through the operator table, matrix products and convolutions on the job's
numerics."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from dojo_runtime.catalog.layers import NumericsModule
from dojo_runtime.catalog.numerics_api import Numerics
from dojo_runtime.onnx_import.context import OpContext, OpFn, Value
from dojo_runtime.onnx_import.graph import OnnxGraph, OnnxImportError
from dojo_runtime.onnx_import.ops_compute import COMPUTE_OPS
from dojo_runtime.onnx_import.ops_tensor import TENSOR_OPS

OPS: Mapping[str, OpFn] = {**COMPUTE_OPS, **TENSOR_OPS}
# Inputs that hold state rather than weights: batch norm's running mean and variance.
NOT_TRAINED = {"BatchNormalization": (3, 4)}
# A layer's weight or bias is trained even when it holds one value (the bias of a head with
# one output, as a scalar regression has); elsewhere a one-value float is a constant of the
# graph (an epsilon, a scale) and stays one.
LAYER_OPS = frozenset({"Gemm", "Conv", "BatchNormalization", "LayerNormalization"})


def check_operators(graph: OnnxGraph) -> None:
    """OnnxImportError naming every node whose operator is outside the supported subset."""
    bad = [n for n in graph.nodes if n.op_type not in OPS]
    if bad:
        named = "; ".join(f"{n.label()}" for n in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise OnnxImportError(
            f"unsupported operator: {named}{more}; the supported operators are "
            f"{', '.join(sorted(OPS))}"
        )


def trainable_initializers(graph: OnnxGraph) -> list[str]:
    """Float initializers of more than one value that some node reads as a weight, and a
    layer's one-value weight or bias."""
    weight_uses: set[str] = set()
    layer_inputs: set[str] = set()
    for node in graph.nodes:
        skipped = NOT_TRAINED.get(node.op_type, ())
        weight_uses.update(n for i, n in enumerate(node.inputs) if i not in skipped)
        if node.op_type in LAYER_OPS:
            layer_inputs.update(n for i, n in enumerate(node.inputs) if i and i not in skipped)
    return [
        name
        for name, arr in graph.initializers.items()
        if name in weight_uses
        and np.issubdtype(arr.dtype, np.floating)
        and (arr.size > 1 or (name in layer_inputs and arr.size == 1))
    ]


class OnnxModule(NumericsModule):
    """forward(x) runs the graph on its one input and returns its first output."""

    def __init__(self, nx: Numerics, graph: OnnxGraph) -> None:
        super().__init__(nx)
        check_operators(graph)
        if len(graph.inputs) != 1:
            names = [v.name for v in graph.inputs]
            raise OnnxImportError(f"the graph must take one input (the samples); it takes {names}")
        self.graph = graph
        trained = trainable_initializers(graph)
        self.keys = _parameter_keys(trained)
        self.weights = nn.ParameterDict(
            {
                key: nn.Parameter(torch.from_numpy(graph.initializers[name].astype(np.float32)))
                for name, key in self.keys.items()
            }
        )
        self.constants = {
            name: torch.from_numpy(arr)
            for name, arr in graph.initializers.items()
            if name not in self.keys
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env: dict[str, Value] = {"": None, **self.constants}
        env.update({name: self.weights[key] for name, key in self.keys.items()})
        env[self.graph.inputs[0].name] = x
        parameter_ids = {id(p) for p in self.weights.values()}

        def is_parameter(t: torch.Tensor) -> bool:
            return id(t) in parameter_ids

        for node in self.graph.nodes:
            ctx = OpContext(self.nx, node, self.graph.opset, is_parameter)
            try:
                result = OPS[node.op_type](ctx, [env[name] for name in node.inputs])
            except OnnxImportError:
                raise
            except (RuntimeError, ValueError, IndexError, TypeError, KeyError) as exc:
                raise ctx.fail(f"{exc.__class__.__name__}: {exc}") from exc
            outputs = result if isinstance(result, tuple) else (result,)
            env.update(zip(node.outputs, outputs, strict=False))
        out = env[self.graph.outputs[0].name]
        assert out is not None
        return out


def _parameter_keys(names: list[str]) -> dict[str, str]:
    """ONNX names ("fc.weight", "onnx::Conv_12") as unique ParameterDict keys."""
    keys: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        key = re.sub(r"\W", "_", name) or "w"
        while key in used:
            key += "_"
        used.add(key)
        keys[name] = key
    return keys
