"""`Numerics`: the operators models call, run with a target's number formats.

Emulated precisions (bf16, cfp8, cfp16) round op inputs to their storage format, compute in
FP32 (FP32 accumulation), and round the outputs; autograd runs through the rounding
straight-through, with every gradient rounded to the gradient format. "fp32" calls PyTorch
directly. When `on_kernel` is set, each op reports a `KernelCall` forward, and another from
autograd when its backward runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from dojo_runtime.kernels import KernelCall
from dojo_runtime.ops import costs
from dojo_runtime.ops.policy import NumericsPolicy, make_policy
from dojo_runtime.ops.rounder import Rounder, tag

KernelSink = Callable[[KernelCall], None]


class Numerics:
    """One per training run: formats, per-tensor bias trackers, the rounding generator."""

    def __init__(
        self,
        precision: str | NumericsPolicy = "fp32",
        *,
        seed: int = 0,
        on_kernel: KernelSink | None = None,
        emulate: bool | None = None,
        device: torch.device | str = "cpu",
        **options: Any,
    ) -> None:
        """`emulate=False` keeps the policy's formats for kernel reports (widths, datapath)
        but computes plain FP32, e.g. to trace a step's kernels on meta tensors. By default
        every precision but "fp32" is emulated. `device`: where the tensors it rounds live
        (the stochastic-rounding generator must be on the same device)."""
        if isinstance(precision, NumericsPolicy):
            self.policy = precision
        else:
            self.policy = make_policy(precision, **options)
        self.name: str = self.policy.name
        self.on_kernel: KernelSink | None = on_kernel
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.rounder = Rounder(self.policy, self.generator)
        self.emulated = self.name != "fp32" if emulate is None else emulate
        self._width = self.policy.storage_bytes

    # --- state for bit-exact resume ----------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "precision": self.name,
            "trackers": self.rounder.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["precision"] != self.name:
            raise ValueError(f"state is for {state['precision']}, not {self.name}")
        self.rounder.load_state_dict(state["trackers"])
        try:
            self.generator.set_state(state["generator"])
        except RuntimeError as exc:  # a CUDA generator's state on a CPU one, or back
            raise ValueError(f"rounding generator state is for another device: {exc}") from exc

    # --- helpers -------------------------------------------------------------------------
    def round(self, x: torch.Tensor, role: str = "activation", key: str = "user") -> torch.Tensor:
        """x stored in the role's format (identity for fp32); differentiable."""
        return self.rounder(x, role, key) if self.emulated else x

    def _in(self, x: torch.Tensor, role: str, key: str) -> torch.Tensor:
        return self.rounder(x, role, key)

    def _opt(self, x: torch.Tensor | None, role: str, key: str) -> torch.Tensor | None:
        return None if x is None else self._in(x, role, key)

    def _out(self, y: torch.Tensor, key: str) -> torch.Tensor:
        return self.rounder(y, "activation", key)

    def _report(
        self,
        kind: str,
        flops: float,
        read_elems: float,
        written_elems: float,
        out: torch.Tensor,
    ) -> None:
        if self.on_kernel is not None:
            w = self._width
            moved = (read_elems * w, written_elems * w)
            costs.report_kernel(self.on_kernel, self.policy.cost_precision, kind, flops, moved, out)

    def _report_per_element(self, kind: str, op: str, x: torch.Tensor, y: torch.Tensor) -> None:
        """A kernel that reads and writes each element of `x` once (norms, pointwise ops)."""
        if self.on_kernel is not None:
            n = x.numel()
            self._report(kind, costs.PER_ELEMENT_FLOPS[op] * n, n, n, y)

    # --- matrix ops ------------------------------------------------------------------------
    def linear(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.emulated:
            k = f"linear{tuple(weight.shape)}"
            xq, wq = self._in(x, "activation", k + ".x"), self._in(weight, "weight", k)
            y = self._out(F.linear(xq, wq, self._opt(bias, "vector", k + ".b")), k + ".y")
        else:
            y = F.linear(x, weight, bias)
        if self.on_kernel is not None:
            flops = costs.linear_flops(x, weight, bias is not None)
            self._report("matmul", flops, x.numel() + weight.numel(), y.numel(), y)
        return y

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.emulated:
            k = f"matmul{tuple(a.shape[-1:])}"
            aq, bq = self._in(a, "activation", k + ".a"), self._in(b, "activation", k + ".b")
            y = self._out(torch.matmul(aq, bq), k + ".y")
        else:
            y = torch.matmul(a, b)
        if self.on_kernel is not None:
            self._report("matmul", costs.matmul_flops(a, b), a.numel() + b.numel(), y.numel(), y)
        return y

    def conv2d(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
    ) -> torch.Tensor:
        if self.emulated:
            k = f"conv2d{tuple(weight.shape)}"
            xq, wq = self._in(x, "activation", k + ".x"), self._in(weight, "weight", k)
            y = F.conv2d(xq, wq, self._opt(bias, "vector", k + ".b"), stride, padding)
            y = self._out(y, k + ".y")
        else:
            y = F.conv2d(x, weight, bias, stride, padding)
        if self.on_kernel is not None:
            flops = costs.conv2d_flops(y, weight)
            self._report("conv2d", flops, x.numel() + weight.numel(), y.numel(), y)
        return y

    def attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool
    ) -> torch.Tensor:
        """Scaled dot-product attention; q, k, v: (B, H, T, D)."""
        if self.emulated:
            out = self._emulated_attention(q, k, v, causal)
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        if self.on_kernel is not None:
            read = q.numel() + k.numel() + v.numel()
            self._report("attention", costs.attention_flops(q, k, causal), read, out.numel(), out)
        return out

    def _emulated_attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
    ) -> torch.Tensor:
        # Scores stay FP32 inside the fused kernel; probabilities are rounded before the
        # value product, as a kernel feeding the matrix unit in the storage format would.
        key = f"attention{tuple(q.shape[-1:])}"
        qq = self._in(q, "activation", key + ".q")
        kq = self._in(k, "activation", key + ".k")
        vq = self._in(v, "activation", key + ".v")
        scores = torch.matmul(qq, kq.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        if causal:
            t_q, t_k = q.shape[-2], k.shape[-2]
            mask = torch.ones(t_q, t_k, dtype=torch.bool, device=q.device).triu_(t_k - t_q + 1)
            scores = scores.masked_fill(mask, float("-inf"))
        probs = self._in(torch.softmax(scores, dim=-1), "activation", key + ".p")
        return self._out(torch.matmul(probs, vq), key + ".y")

    # --- normalisation and pointwise ops -----------------------------------------------------
    def layer_norm(
        self,
        x: torch.Tensor,
        normalized_shape: Sequence[int],
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        eps: float = 1e-5,
    ) -> torch.Tensor:
        shape = tuple(normalized_shape)
        if self.emulated:
            key = f"layer_norm{shape}"
            xq = self._in(x, "activation", key + ".x")
            wq = self._opt(weight, "vector", key + ".w")
            bq = self._opt(bias, "vector", key + ".b")
            y = self._out(F.layer_norm(xq, shape, wq, bq, eps), key + ".y")
        else:
            y = F.layer_norm(x, shape, weight, bias, eps)
        self._report_per_element("norm", "norm", x, y)
        return y

    def softmax(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        return self._pointwise("softmax", "softmax", lambda t: torch.softmax(t, dim), x)

    def gelu(self, x: torch.Tensor) -> torch.Tensor:
        return self._pointwise("gelu", "elementwise", F.gelu, x)

    def _pointwise(
        self, op: str, kind: str, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        """`fn` on activations: input and output rounded when emulated, costed per element."""
        if self.emulated:
            key = f"{op}{tuple(x.shape[-1:])}"
            y = self._out(fn(self._in(x, "activation", key + ".x")), key + ".y")
        else:
            y = fn(x)
        self._report_per_element(kind, op, x, y)
        return y

    def relu(self, x: torch.Tensor) -> torch.Tensor:
        if self.emulated:
            y = F.relu(self._in(x, "activation", f"relu{tuple(x.shape[-1:])}.x"))
            # relu of a representable value is representable: no second rounding.
            tag(y, self.policy.fmt("activation").name)
        else:
            y = F.relu(x)
        self._report_per_element("elementwise", "relu", x, y)
        return y

    def batch_norm(
        self,
        x: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        eps: float = 1e-5,
    ) -> torch.Tensor:
        """Training-mode batch norm of (N, C, ...): statistics of the batch, per channel.
        One pass for the statistics and one to normalise: the input is read twice."""
        if self.emulated:
            key = f"batch_norm{tuple(x.shape[1:2])}"
            xq = self._in(x, "activation", key + ".x")
            wq = self._opt(weight, "vector", key + ".w")
            bq = self._opt(bias, "vector", key + ".b")
            y = self._out(F.batch_norm(xq, None, None, wq, bq, True, 0.0, eps), key + ".y")
        else:
            y = F.batch_norm(x, None, None, weight, bias, True, 0.0, eps)
        if self.on_kernel is not None:
            n = x.numel()
            self._report("norm", costs.PER_ELEMENT_FLOPS["norm"] * n, 2 * n, n, y)
        return y

    def max_pool2d(
        self, x: torch.Tensor, kernel: int, stride: int, padding: int = 0
    ) -> torch.Tensor:
        if self.emulated:
            xq = self._in(x, "activation", f"max_pool{tuple(x.shape[1:2])}.x")
            # The max of stored values is a stored value: no second rounding.
            y = tag(F.max_pool2d(xq, kernel, stride, padding), self.policy.fmt("activation").name)
        else:
            y = F.max_pool2d(x, kernel, stride, padding)
        if self.on_kernel is not None:
            self._report("elementwise", float(kernel * kernel * y.numel()), x.numel(), y.numel(), y)
        return y

    def global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over the spatial axes of (N, C, H, W) -> (N, C)."""
        if self.emulated:
            key = f"avg_pool{tuple(x.shape[1:2])}"
            y = self._out(self._in(x, "activation", key + ".x").mean(dim=(2, 3)), key + ".y")
        else:
            y = x.mean(dim=(2, 3))
        if self.on_kernel is not None:
            self._report("elementwise", float(x.numel()), x.numel(), y.numel(), y)
        return y

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """A residual add as its own kernel: reads both operands, writes the sum."""
        if self.emulated:
            key = f"add{tuple(a.shape[-1:])}"
            y = self._out(
                self._in(a, "activation", key + ".a") + self._in(b, "activation", key + ".b"),
                key + ".y",
            )
        else:
            y = a + b
        if self.on_kernel is not None:
            n = y.numel()
            self._report("elementwise", float(n), 2 * n, n, y)
        return y

    def residual(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The catalog blocks' skip connection: the FP32 sum they always computed (the next
        kernel's input rounding applies the format, and resumed jobs keep their bits), costed
        as the elementwise kernel a device runs for it: reads both operands, writes the sum."""
        y = a + b
        if self.on_kernel is not None:
            n = y.numel()
            self._report("elementwise", float(n), 2 * n, n, y)
        return y

    # --- embedding and loss ------------------------------------------------------------------
    def embedding(self, idx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        # The whole table is stored in the weight format (one bias); rows are read as is.
        if self.emulated:
            y = F.embedding(idx, self._in(weight, "weight", f"embedding{tuple(weight.shape)}"))
            if self.policy.fmt("weight") == self.policy.fmt("activation"):
                tag(y, self.policy.fmt("activation").name)
        else:
            y = F.embedding(idx, weight)
        if self.on_kernel is not None:
            n = y.numel()
            self._report("embedding", 0.0, n + idx.numel() / self._width * 4, n, y)
        return y

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy; logits in the activation format, the loss itself in FP32."""
        if self.emulated:
            logits_q = self._in(logits, "activation", f"cross_entropy{tuple(logits.shape[-1:])}.x")
            loss = F.cross_entropy(logits_q, target)
        else:
            loss = F.cross_entropy(logits, target)
        if self.on_kernel is not None:
            n = logits.numel()
            self._report("loss", costs.PER_ELEMENT_FLOPS["loss"] * n, n, target.numel(), loss)
        return loss

    def mse(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean squared error; the prediction in the activation format, the loss in FP32
        (costed as the cross-entropy is: a per-element loss kernel)."""
        if self.emulated:
            key = f"mse{tuple(prediction.shape[-1:])}.x"
            prediction = self._in(prediction, "activation", key)
        loss = F.mse_loss(prediction, target)
        if self.on_kernel is not None:
            n = prediction.numel()
            self._report("loss", costs.PER_ELEMENT_FLOPS["loss"] * n, n, target.numel(), loss)
        return loss


def get_numerics(
    precision: str,
    *,
    seed: int = 0,
    on_kernel: KernelSink | None = None,
    device: torch.device | str = "cpu",
    **options: Any,
) -> Numerics:
    """Numerics for "fp32" | "bf16" | "cfp8" | "cfp16" on `device`; options as
    `make_policy` takes."""
    return Numerics(precision, seed=seed, on_kernel=on_kernel, device=device, **options)
