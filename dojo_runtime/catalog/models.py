"""The catalog's architectures. Each takes (numerics, resolved size params, data info).

Every model maps a batch of inputs to logits: (B, classes), or (B, T, vocab) for the
language model. The engine computes the loss with the same numerics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from dojo_runtime.catalog.layers import (
    Conv2d,
    Embedding,
    LayerNorm,
    Linear,
    NumericsModule,
    Positions,
    TransformerBlock,
)
from dojo_runtime.catalog.numerics_api import Numerics
from dojo_runtime.catalog.video import SpaceTimeBlock
from dojo_runtime.data import DataInfo


class MLP(NumericsModule):
    def __init__(self, nx: Numerics, p: Mapping[str, int], info: DataInfo) -> None:
        super().__init__(nx)
        width = 1
        for s in info.input_shape:
            width *= s
        dims = [width] + [p["hidden"]] * p["layers"]
        self.hidden = nn.ModuleList(Linear(nx, a, b) for a, b in zip(dims, dims[1:], strict=False))
        self.head = Linear(nx, dims[-1], info.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for layer in self.hidden:
            x = self.nx.relu(layer(x))
        return self.head(x)


class ResidualBlock(NumericsModule):
    """Pre-activation ResNet block; layer norm over (C, H, W) stands in for batch norm."""

    def __init__(self, nx: Numerics, shape: tuple[int, int, int]) -> None:
        super().__init__(nx)
        c = shape[0]
        self.norm1 = LayerNorm(nx, shape)
        self.conv1 = Conv2d(nx, c, c, 3, padding=1)
        self.norm2 = LayerNorm(nx, shape)
        self.conv2 = Conv2d(nx, c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.nx.relu(self.norm1(x)))
        return self.nx.residual(x, self.conv2(self.nx.relu(self.norm2(h))))


class CNN(NumericsModule):
    def __init__(self, nx: Numerics, p: Mapping[str, int], info: DataInfo) -> None:
        super().__init__(nx)
        c_in, h, w = _image_shape(info, "cnn")
        c = p["channels"]
        self.stem = Conv2d(nx, c_in, c, 3, padding=1)
        self.blocks = nn.ModuleList(ResidualBlock(nx, (c, h, w)) for _ in range(p["blocks"]))
        self.head = Linear(nx, c, info.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.nx.relu(x).mean(dim=(2, 3)))


class GPT(NumericsModule):
    """Decoder-only language model: token + position embeddings, causal blocks, LM head."""

    def __init__(self, nx: Numerics, p: Mapping[str, int], info: DataInfo) -> None:
        super().__init__(nx)
        d = p["d_model"]
        self.tokens = Embedding(nx, info.num_classes, d)
        self.positions = Positions(nx, p["context"], d)
        self.blocks = nn.ModuleList(
            TransformerBlock(nx, d, p["heads"], causal=True) for _ in range(p["layers"])
        )
        self.norm = LayerNorm(nx, (d,))
        self.head = Linear(nx, d, info.num_classes, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.positions(self.tokens(idx))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


class ViT(NumericsModule):
    """Vision transformer: patch embedding by a strided convolution, mean-pooled tokens."""

    def __init__(self, nx: Numerics, p: Mapping[str, int], info: DataInfo) -> None:
        super().__init__(nx)
        c_in, h, w = _image_shape(info, "vit")
        d, patch = p["d_model"], p["patch"]
        _check_patch(patch, h, w)
        self.patches = Conv2d(nx, c_in, d, patch, stride=patch)
        self.positions = Positions(nx, (h // patch) * (w // patch), d)
        self.blocks = nn.ModuleList(
            TransformerBlock(nx, d, p["heads"], causal=False) for _ in range(p["layers"])
        )
        self.norm = LayerNorm(nx, (d,))
        self.head = Linear(nx, d, info.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.positions(self.patches(x).flatten(2).transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))


class VideoTransformer(NumericsModule):
    """Space-time video classifier with divided attention (time, then space, per block)."""

    def __init__(self, nx: Numerics, p: Mapping[str, int], info: DataInfo) -> None:
        super().__init__(nx)
        if len(info.input_shape) != 4:
            raise ValueError("dataset.name: the video model needs clips (frames, C, H, W)")
        frames, c_in, h, w = info.input_shape
        d, patch = p["d_model"], p["patch"]
        _check_patch(patch, h, w)
        self.patches = Conv2d(nx, c_in, d, patch, stride=patch)
        self.space = Positions(nx, (h // patch) * (w // patch), d)
        self.time = nn.Parameter(torch.empty(frames, 1, d))
        self.blocks = nn.ModuleList(SpaceTimeBlock(nx, d, p["heads"]) for _ in range(p["layers"]))
        self.norm = LayerNorm(nx, (d,))
        self.head = Linear(nx, d, info.num_classes)

    def init_weights(self, g: torch.Generator) -> None:
        with torch.no_grad():
            self.time.normal_(0.0, 0.02, generator=g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, f = x.shape[:2]
        tokens = self.patches(x.flatten(0, 1)).flatten(2).transpose(1, 2)  # (B*F, N, D)
        tokens = self.space(tokens).reshape(b, f, tokens.shape[1], -1) + self.time
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens).mean(dim=(1, 2)))


def _image_shape(info: DataInfo, arch: str) -> tuple[int, int, int]:
    if len(info.input_shape) != 3:
        raise ValueError(
            f"dataset.name: {arch} needs images shaped (N, H, W) or (N, C, H, W); "
            f"this dataset's samples are {info.input_shape}"
        )
    c, h, w = info.input_shape
    return c, h, w


def _check_patch(patch: int, h: int, w: int) -> None:
    if h % patch or w % patch:
        raise ValueError(f"model.params.patch: {patch} does not divide the {h}x{w} images")


ModelFactory = Callable[[Numerics, Mapping[str, int], DataInfo], NumericsModule]

MODEL_CLASSES: dict[str, ModelFactory] = {
    "mlp": MLP,
    "cnn": CNN,
    "gpt": GPT,
    "vit": ViT,
    "video": VideoTransformer,
}
