"""Operators that reshape, index, combine and convert tensors, and the plain elementwise
math (FP32 torch: these are not matrix products, so no emulated format applies)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from dojo_runtime.onnx_import.context import (
    OpContext,
    OpFn,
    Result,
    Value,
    ints,
    need,
    same_device,
)

INT64_MAX = 2**63 - 1


def _unary(fn: Callable[[torch.Tensor], torch.Tensor]) -> OpFn:
    return lambda ctx, xs: fn(need(ctx, xs, 0))


def _binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> OpFn:
    return lambda ctx, xs: fn(*same_device(need(ctx, xs, 0), need(ctx, xs, 1)))


def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        return a / b
    return torch.div(a, b, rounding_mode="trunc")  # ONNX integer division truncates


def _axes(ctx: OpContext, xs: Sequence[Value], index: int) -> list[int] | None:
    """Axes from the input at `index` (newer opsets) or the `axes` attribute (older)."""
    if len(xs) > index and xs[index] is not None:
        return ints(need(ctx, xs, index))
    attr = ctx.attr("axes")
    return None if attr is None else [int(a) for a in attr]


def constant(ctx: OpContext, xs: Sequence[Value]) -> Result:
    attrs = ctx.node.attrs
    if "value" in attrs:
        return torch.from_numpy(np.array(attrs["value"]))
    for key, dtype in (("value_float", torch.float32), ("value_int", torch.int64)):
        if key in attrs:
            return torch.tensor(attrs[key], dtype=dtype, device="cpu")
    for key, dtype in (("value_floats", torch.float32), ("value_ints", torch.int64)):
        if key in attrs:
            return torch.tensor(list(attrs[key]), dtype=dtype, device="cpu")
    raise ctx.fail("only tensor, float and int constants are supported")


def constant_of_shape(ctx: OpContext, xs: Sequence[Value]) -> Result:
    value = ctx.attr("value")
    fill = np.array(value) if value is not None else np.zeros(1, dtype=np.float32)
    return torch.from_numpy(np.full(ints(need(ctx, xs, 0)), fill.reshape(-1)[0], dtype=fill.dtype))


def shape(ctx: OpContext, xs: Sequence[Value]) -> Result:
    dims = list(need(ctx, xs, 0).shape)
    start, end = int(ctx.attr("start", 0)), ctx.attr("end")
    return torch.tensor(
        dims[start : None if end is None else int(end)], dtype=torch.int64, device="cpu"
    )


def reshape(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x, target = need(ctx, xs, 0), ints(need(ctx, xs, 1))
    if not ctx.attr("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


def flatten(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    axis = int(ctx.attr("axis", 1)) % (x.dim() + 1) if x.dim() else 0
    return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)


def transpose(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    perm = ctx.attr("perm")
    return x.permute(*(reversed(range(x.dim())) if perm is None else [int(p) for p in perm]))


def concat(ctx: OpContext, xs: Sequence[Value]) -> Result:
    parts = [x for x in xs if x is not None]
    device = next((p.device for p in parts if p.device.type != "cpu"), parts[0].device)
    return torch.cat([p.to(device) for p in parts], dim=int(ctx.attr("axis")))


def unsqueeze(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x, axes = need(ctx, xs, 0), _axes(ctx, xs, 1) or []
    rank = x.dim() + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = x.unsqueeze(axis)
    return x


def squeeze(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x, axes = need(ctx, xs, 0), _axes(ctx, xs, 1)
    if axes is None:
        return x.squeeze()
    for axis in sorted((a % x.dim() for a in axes), reverse=True):
        x = x.squeeze(axis)
    return x


def gather(ctx: OpContext, xs: Sequence[Value]) -> Result:
    data, idx = need(ctx, xs, 0), need(ctx, xs, 1)
    axis = int(ctx.attr("axis", 0)) % data.dim()
    if axis == 0 and data.dim() == 2 and ctx.is_parameter(data) and idx.dim() > 0:
        return ctx.nx.embedding(idx.to(data.device), data)  # a token table
    idx = torch.where(idx < 0, idx + data.shape[axis], idx).to(data.device)
    picked = torch.index_select(data, axis, idx.reshape(-1))
    return picked.reshape((*data.shape[:axis], *idx.shape, *data.shape[axis + 1 :]))


def slice_(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    if ctx.opset < 10:
        starts, ends = ctx.attr("starts"), ctx.attr("ends")
        axes, steps = ctx.attr("axes"), None
    else:
        starts, ends = ints(need(ctx, xs, 1)), ints(need(ctx, xs, 2))
        axes = _axes(ctx, xs, 3)
        steps = ints(need(ctx, xs, 4)) if len(xs) > 4 and xs[4] is not None else None
    axes = list(range(len(starts))) if axes is None else axes
    index: list[slice] = [slice(None)] * x.dim()
    for i, axis in enumerate(axes):
        step = 1 if steps is None else steps[i]
        if step < 1:
            raise ctx.fail("negative or zero slice steps are not supported")
        dim = x.shape[axis]
        start, end = int(starts[i]), min(int(ends[i]), dim) if ends[i] < INT64_MAX else dim
        index[axis % x.dim()] = slice(max(start + dim, 0) if start < 0 else start, end, step)
    return x[tuple(index)]


def split(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    axis = int(ctx.attr("axis", 0))
    sizes = ints(need(ctx, xs, 1)) if len(xs) > 1 and xs[1] is not None else ctx.attr("split")
    if sizes is None:
        n = len(ctx.node.outputs)
        sizes = [x.shape[axis] // n] * n
    return tuple(torch.split(x, [int(s) for s in sizes], dim=axis))


def where(ctx: OpContext, xs: Sequence[Value]) -> Result:
    cond, a, b = need(ctx, xs, 0), need(ctx, xs, 1), need(ctx, xs, 2)
    device = next((t.device for t in (cond, a, b) if t.device.type != "cpu"), a.device)
    return torch.where(cond.to(device), a.to(device), b.to(device))


def expand(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x, target = need(ctx, xs, 0), ints(need(ctx, xs, 1))
    return x.expand(np.broadcast_shapes(tuple(x.shape), tuple(target)))


def cast(ctx: OpContext, xs: Sequence[Value]) -> Result:
    import onnx  # the type table only

    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(int(ctx.attr("to"))))
    return need(ctx, xs, 0).to(torch.from_numpy(np.zeros(0, dtype=dtype)).dtype)


def _reduce(fn: Callable[[torch.Tensor, list[int], bool], torch.Tensor]) -> OpFn:
    def op(ctx: OpContext, xs: Sequence[Value]) -> Result:
        x, axes = need(ctx, xs, 0), _axes(ctx, xs, 1)
        keep = bool(ctx.attr("keepdims", 1))
        if not axes:
            if ctx.attr("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.dim()))
        return fn(x, [a % x.dim() for a in axes], keep)

    return op


def range_(ctx: OpContext, xs: Sequence[Value]) -> Result:
    start, limit, delta = (need(ctx, xs, i) for i in range(3))
    return torch.arange(
        start.item(), limit.item(), delta.item(), dtype=start.dtype, device=start.device
    )


def trilu(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    k = int(need(ctx, xs, 1).item()) if len(xs) > 1 and xs[1] is not None else 0
    return torch.triu(x, k) if ctx.attr("upper", 1) else torch.tril(x, k)


def clip(ctx: OpContext, xs: Sequence[Value]) -> Result:
    x = need(ctx, xs, 0)
    lo = xs[1] if len(xs) > 1 else ctx.attr("min")
    hi = xs[2] if len(xs) > 2 else ctx.attr("max")
    lo_v = None if lo is None else float(lo.item() if isinstance(lo, torch.Tensor) else lo)
    hi_v = None if hi is None else float(hi.item() if isinstance(hi, torch.Tensor) else hi)
    return torch.clamp(x, lo_v, hi_v)


def dropout(ctx: OpContext, xs: Sequence[Value]) -> Result:
    """Identity: training is deterministic (seeded), and dropout's mask would be a second
    source of randomness that checkpoints do not capture."""
    x = need(ctx, xs, 0)
    if len(ctx.node.outputs) > 1:
        return (x, torch.ones(x.shape, dtype=torch.bool, device=x.device))
    return x


TENSOR_OPS: dict[str, OpFn] = {
    "Constant": constant,
    "ConstantOfShape": constant_of_shape,
    "Shape": shape,
    "Reshape": reshape,
    "Flatten": flatten,
    "Transpose": transpose,
    "Concat": concat,
    "Unsqueeze": unsqueeze,
    "Squeeze": squeeze,
    "Gather": gather,
    "Slice": slice_,
    "Split": split,
    "Where": where,
    "Expand": expand,
    "Cast": cast,
    "Range": range_,
    "Trilu": trilu,
    "Clip": clip,
    "Identity": _unary(lambda x: x),
    "Dropout": dropout,
    "Sub": _binary(lambda a, b: a - b),
    "Mul": _binary(lambda a, b: a * b),
    "Div": _binary(_div),
    "Pow": _binary(torch.pow),
    "Equal": _binary(torch.eq),
    "Less": _binary(torch.lt),
    "Greater": _binary(torch.gt),
    "Min": _binary(torch.minimum),
    "Max": _binary(torch.maximum),
    "And": _binary(torch.logical_and),
    "Or": _binary(torch.logical_or),
    "Not": _unary(torch.logical_not),
    "Neg": _unary(torch.neg),
    "Sqrt": _unary(torch.sqrt),
    "Reciprocal": _unary(torch.reciprocal),
    "Exp": _unary(torch.exp),
    "Log": _unary(torch.log),
    "Abs": _unary(torch.abs),
    "Erf": _unary(torch.erf),
    "Sigmoid": _unary(torch.sigmoid),
    "Tanh": _unary(torch.tanh),
    "ReduceMean": _reduce(lambda x, a, k: x.mean(dim=a, keepdim=k)),
    "ReduceSum": _reduce(lambda x, a, k: x.sum(dim=a, keepdim=k)),
    "ReduceMax": _reduce(lambda x, a, k: x.amax(dim=a, keepdim=k)),
}
