"""A trained job's model as files a customer takes away: its weights as safetensors (named
tensors) and the model as ONNX.

What the exported graph computes: the catalog model's forward pass in plain FP32 (PyTorch's
own operators), with the trained weights. The target's emulated number formats (bf16, cfp8
rounding of inputs, outputs and gradients) are a training-time detail of the Dojo or GPU
datapath, not part of the model: the ONNX graph is what `Trainer.evaluate` computes for an
"fp32" job with these weights, and what onnxruntime runs anywhere.

Inputs: float32 samples (batch, *input_shape) for classifiers, int64 byte tokens (batch, T)
for the language model; outputs: logits (batch, classes) or (batch, T, vocab). The batch
axis is dynamic. A customer's imported ONNX model comes back as its own graph, with its own
input and output names, holding the trained weights. Checkpoints are read with `torch.load(weights_only=True)` only.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from typing import Any

import torch

from dojo_runtime import catalog, data
from dojo_runtime.catalog import imported
from dojo_runtime.config import TrainConfig
from dojo_runtime.ops import get_numerics

ONNX_OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def load_snapshot(blob: bytes) -> dict[str, Any]:
    saved: dict[str, Any] = torch.load(io.BytesIO(blob), weights_only=True)
    if not isinstance(saved, dict) or "model" not in saved:
        raise ValueError("checkpoint: not a training snapshot")
    return saved


def fp32_model(config: TrainConfig, blob: bytes) -> catalog.NumericsModule:
    """The config's model in plain FP32 with the snapshot's trained weights, in eval mode."""
    fp32 = replace(config, precision="fp32")
    model = catalog.build_model(fp32, get_numerics("fp32", seed=config.seed), _info(fp32))
    model.load_state_dict(load_snapshot(blob)["model"])
    model.eval()
    return model


def weights_safetensors(blob: bytes) -> bytes:
    """The snapshot's model weights as a safetensors file (named, contiguous tensors)."""
    from safetensors.torch import save

    weights = load_snapshot(blob)["model"]
    return save({k: v.detach().contiguous().clone() for k, v in weights.items()})


def sample_input(config: TrainConfig, batch: int = 1) -> torch.Tensor:
    info = _info(config)
    if info.task == data.LANGUAGE_MODEL:
        return torch.zeros((batch, *info.input_shape), dtype=torch.int64)
    return torch.zeros((batch, *info.input_shape), dtype=torch.float32)


def onnx_model(config: TrainConfig, blob: bytes) -> bytes:
    """The trained model as an ONNX file (TorchScript exporter, opset 17, dynamic batch);
    an imported model is its own file with the trained weights (onnx_import.export)."""
    if config.custom_model is not None:
        from dojo_runtime.onnx_import.export import with_weights

        imported.graph_of(config)  # checks the file's bytes against its sha256
        return with_weights(config.custom_model.graph, load_snapshot(blob)["model"])
    model = fp32_model(config, blob)
    buf = io.BytesIO()
    # The TorchScript exporter (dynamo=False): torch 2.13's default one needs the onnxscript
    # package, which nothing else here uses. It warns that it is deprecated; that is known.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (sample_input(config, batch=2),),
            buf,  # type: ignore[arg-type]  # typed for paths; the TorchScript exporter takes files
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return buf.getvalue()


def _info(config: TrainConfig) -> data.DataInfo:
    info: data.DataInfo = catalog.data_info_for(config)
    return info
