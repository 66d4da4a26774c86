"""Small torch networks exported to ONNX bytes by torch.onnx.export, as a customer would
export them: an MLP, a CNN with batch norm and a residual add, a tiny causal transformer,
and a plain-torch ResNet-50 v1.5 (torchvision does not load here)."""

from __future__ import annotations

import hashlib
import io
import math

import torch
import torch.nn.functional as F
from torch import nn

from dojo_runtime.config import CustomModel


def export(
    model: nn.Module, sample: torch.Tensor, *, training: bool = False, opset: int = 17
) -> bytes:
    """The model as ONNX bytes with a dynamic batch axis on its input "x"."""
    buf = io.BytesIO()
    mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
    model.train(training)
    torch.onnx.export(
        model,
        (sample,),
        buf,
        input_names=["x"],
        output_names=["logits"],
        dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset,
        training=mode,
        do_constant_folding=not training,
        dynamo=False,
    )
    return buf.getvalue()


def custom(data: bytes, task: str = "classification") -> CustomModel:
    return CustomModel(hashlib.sha256(data).hexdigest(), task, data)


class MLP(nn.Module):
    def __init__(self, features: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(features, 32), nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.tanh(F.relu(self.fc1(x.flatten(1)))))


class ResidualCNN(nn.Module):
    """Conv-BN-ReLU stem, one residual block, max pool, global average pool, linear head."""

    def __init__(self, c_in: int = 1, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(c_in, width, 3, padding=1), nn.BatchNorm2d(width))
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        x = self.pool(F.relu(x + h))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


class TinyTransformer(nn.Module):
    """A causal byte language model: embeddings, one pre-norm block (SDPA, GELU MLP)."""

    def __init__(self, vocab: int = 256, context: int = 16, dim: int = 32, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Parameter(torch.randn(context, dim) * 0.02)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.up, self.down = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tokens(idx) + self.positions[: idx.shape[1]]
        b, t, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        att = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.out(y))
        x = x + self.down(F.gelu(self.up(self.norm2(x))))
        return self.head(x)


class Bottleneck(nn.Module):
    """ResNet-50 v1.5 bottleneck: the stride on the 3x3 convolution."""

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        c_out = width * 4
        self.conv1, self.bn1 = nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out)
        self.project: nn.Module | None = None
        if stride != 1 or c_in != c_out:
            self.project = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.project is None else self.project(x)))


class ResNet50(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(64)
        blocks: list[nn.Module] = []
        c_in = 64
        for width, count, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(count):
                blocks.append(Bottleneck(c_in, width, stride if i == 0 else 1))
                c_in = width * 4
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn(self.stem(x))), 3, 2, 1)
        x = self.blocks(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def tiny_onnx(features: int = 4, classes: int = 3) -> bytes:
    """A hand-built two-node graph (Gemm, Relu): no export, for tests of the upload path."""
    import onnx
    from onnx import helper

    w = helper.make_tensor(
        "w", onnx.TensorProto.FLOAT, [classes, features], [0.1] * (classes * features)
    )
    b = helper.make_tensor("b", onnx.TensorProto.FLOAT, [classes], [0.0] * classes)
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", features])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", classes])
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc", transB=1),
        helper.make_node("Relu", ["h"], ["y"], name="act"),
    ]
    graph = helper.make_graph(nodes, "tiny", [x], [y], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
