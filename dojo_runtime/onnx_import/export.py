"""An imported model with its trained weights, as an ONNX file again.

The customer's own graph is written back with each trained initializer replaced by the
weights training reached; tracing the imported module instead would bake the traced batch
into its Shape/Reshape nodes. The Identity nodes the importer untied (shared initializers)
go, and each copy is an initializer of its own, as the module trained it. The graph keeps
its input and output names; everything else (batch norm's running averages, integer
constants) stays as the file gave it. Pure: bytes in, bytes out."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from dojo_runtime.catalog.numerics_api import PlainTorchNumerics
from dojo_runtime.onnx_import.graph import parse
from dojo_runtime.onnx_import.module import OnnxModule


def with_weights(data: bytes, state: Mapping[str, torch.Tensor]) -> bytes:
    """`data` (the uploaded file) with the trained `state` (an OnnxModule's state dict)."""
    graph = parse(data)
    module = OnnxModule(PlainTorchNumerics(), graph)
    module.load_state_dict(dict(state))
    trained = {name: module.weights[key].detach().numpy() for name, key in module.keys.items()}
    model = onnx.load_model_from_string(data)
    kept = [n for n in model.graph.node if not _untied(n, set(graph.initializers))]
    # Each value in the file's own dtype (the module trains float32).
    tensors = [
        numpy_helper.from_array(
            np.ascontiguousarray(trained.get(name, arr).astype(arr.dtype)), name
        )
        for name, arr in graph.initializers.items()
    ]
    del model.graph.node[:]
    model.graph.node.extend(kept)
    del model.graph.initializer[:]
    model.graph.initializer.extend(tensors)
    return bytes(model.SerializeToString())


def _untied(node: onnx.NodeProto, initializers: set[str]) -> bool:
    # The importer's rule (graph._untie): an Identity of an initializer became a copy.
    return node.op_type == "Identity" and bool(node.input) and node.input[0] in initializers
