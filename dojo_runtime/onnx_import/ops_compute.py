"""Operators that run on the job's numerics: matrix products and convolutions (emulated
formats and kernel costs, as the catalog's layers), norms, pooling and activations."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dojo_runtime.onnx_import.context import (
    OpContext,
    OpFn,
    Result,
    Value,
    is_float,
    need,
    same_device,
)


def gemm(ctx: OpContext, xs: Sequence[Value]) -> Result:
    a, b = need(ctx, xs, 0), need(ctx, xs, 1)
    c = xs[2] if len(xs) > 2 else None
    if ctx.attr("transA", 0):
        a = a.transpose(0, 1)
    weight = b if ctx.attr("transB", 0) else b.transpose(0, 1)  # linear takes (out, in)
    alpha, beta = float(ctx.attr("alpha", 1.0)), float(ctx.attr("beta", 1.0))
    if alpha != 1.0:
        a = a * alpha
    if c is not None and beta != 1.0:
        c = c * beta
    if c is not None and c.dim() > 1:  # a bias that is not one value per output
        return ctx.nx.add(*same_device(ctx.nx.linear(a, weight), c))
    return ctx.nx.linear(a, weight, c)


def matmul(ctx: OpContext, xs: Sequence[Value]) -> Result:
    a, b = need(ctx, xs, 0), need(ctx, xs, 1)
    if b.dim() == 2 and ctx.is_parameter(b):  # x @ W: a linear layer, W in the weight format
        return ctx.nx.linear(a, b.transpose(0, 1))
    return ctx.nx.matmul(*same_device(a, b))


def conv(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x, w = need(ctx, xs, 0), need(ctx, xs, 1)
    bias = xs[2] if len(xs) > 2 else None
    if w.dim() != 4:
        raise ctx.fail(f"only 2-D convolutions are supported (weight of rank {w.dim()})")
    if int(ctx.attr("group", 1)) != 1:
        raise ctx.fail("grouped convolutions (group != 1) are not supported")
    if any(d != 1 for d in ctx.attr("dilations", [1, 1])):
        raise ctx.fail("dilated convolutions are not supported")
    if ctx.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise ctx.fail("auto_pad SAME_* is not supported; export with explicit pads")
    stride = tuple(int(s) for s in ctx.attr("strides", [1, 1]))
    x, padding = _padded(x, ctx.attr("pads", [0, 0, 0, 0]))
    return ctx.nx.conv2d(x, w, bias, stride, padding)


def _padded(x: torch.Tensor, pads: Sequence[int]) -> tuple[torch.Tensor, tuple[int, int]]:
    """ONNX pads are (top, left, bottom, right): symmetric ones go to the kernel."""
    top, left, bottom, right = (int(p) for p in pads)
    if (top, left) == (bottom, right):
        return x, (top, left)
    return F.pad(x, (left, right, top, bottom)), (0, 0)


def max_pool(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    kernel = [int(k) for k in ctx.attr("kernel_shape")]
    stride = [int(s) for s in ctx.attr("strides", [1] * len(kernel))]
    pads = [int(p) for p in ctx.attr("pads", [0] * 2 * len(kernel))]
    if (
        len(kernel) != 2
        or ctx.attr("ceil_mode", 0)
        or any(d != 1 for d in ctx.attr("dilations", [1, 1]))
    ):
        raise ctx.fail("only 2-D max pooling without ceil_mode or dilation is supported")
    if len(set(kernel)) == 1 and len(set(stride)) == 1 and len(set(pads)) == 1:
        return ctx.nx.max_pool2d(x, kernel[0], stride[0], pads[0])
    if pads[:2] != pads[2:]:
        raise ctx.fail("asymmetric pooling pads are not supported")
    return F.max_pool2d(x, kernel, stride, pads[:2])


def average_pool(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    kernel = [int(k) for k in ctx.attr("kernel_shape")]
    stride = [int(s) for s in ctx.attr("strides", [1] * len(kernel))]
    pads = [int(p) for p in ctx.attr("pads", [0] * 2 * len(kernel))]
    if len(kernel) != 2 or pads[:2] != pads[2:]:
        raise ctx.fail("only 2-D average pooling with symmetric pads is supported")
    include_pad = bool(ctx.attr("count_include_pad", 0))
    ceil = bool(ctx.attr("ceil_mode", 0))
    return F.avg_pool2d(x, kernel, stride, pads[:2], ceil, include_pad)


def global_average_pool(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    if x.dim() != 4:
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
    return ctx.nx.global_avg_pool(x).reshape(x.shape[0], x.shape[1], 1, 1)


def batch_norm(ctx: OpContext, xs: Sequence[Value]) -> Result:
    """Normalised by the batch's statistics, as the catalog's batch norm trains (running
    averages are kept as the file gives them and passed through)."""
    x, scale, bias = need(ctx, xs, 0), need(ctx, xs, 1), need(ctx, xs, 2)
    eps = float(ctx.attr("epsilon", 1e-5))
    y = ctx.nx.batch_norm(x, scale, bias, eps)
    if len(ctx.node.outputs) > 1:
        return (y, need(ctx, xs, 3), need(ctx, xs, 4))
    return y


def layer_norm(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x, scale = need(ctx, xs, 0), need(ctx, xs, 1)
    bias = xs[2] if len(xs) > 2 else None
    axis = int(ctx.attr("axis", -1)) % x.dim()
    eps = float(ctx.attr("epsilon", 1e-5))
    shape = tuple(x.shape[axis:])
    if tuple(scale.shape) != shape:
        scale = scale.expand(shape)
    if bias is not None and tuple(bias.shape) != shape:
        bias = bias.expand(shape)
    return ctx.nx.layer_norm(x, shape, scale, bias, eps)


def relu(ctx: OpContext, xs: Sequence[Value]) -> Result:
    return ctx.nx.relu(need(ctx, xs, 0))


def gelu(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    if ctx.attr("approximate", "none") == "tanh":
        return F.gelu(x, approximate="tanh")
    return ctx.nx.gelu(x)


def softmax(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    if ctx.opset >= 13:
        return ctx.nx.softmax(x, dim=int(ctx.attr("axis", -1)))
    # Before opset 13 the input is flattened to 2-D at `axis` (default 1).
    axis = int(ctx.attr("axis", 1)) % x.dim()
    flat = x.reshape(math.prod(x.shape[:axis]), -1)
    return ctx.nx.softmax(flat, dim=-1).reshape(x.shape)


def add(ctx: OpContext, xs: Sequence[Value]) -> Result:
    a, b = same_device(need(ctx, xs, 0), need(ctx, xs, 1))
    if is_float(a) and is_float(b):
        return ctx.nx.add(a, b)
    return a + b


COMPUTE_OPS: dict[str, OpFn] = {
    "Gemm": gemm,
    "MatMul": matmul,
    "Conv": conv,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool,
    "BatchNormalization": batch_norm,
    "LayerNormalization": layer_norm,
    "Relu": relu,
    "Gelu": gelu,
    "Softmax": softmax,
    "Add": add,
}
