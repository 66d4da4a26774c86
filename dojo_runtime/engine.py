"""Deterministic, segmentable training.

Contract used by the platform's workers:

    trainer = Trainer(config)
    state = trainer.initial_state()            # or trainer.restore(blob)
    state = trainer.train(state, until_step=200, on_step=cb, should_stop=flag)
    blob = trainer.snapshot(state)             # weights, optimizer, RNG and data position

Training N steps in segments (restore → train → snapshot) gives bit-identical weights to
training N steps straight.

This first version trains an MLP on the digits dataset in plain PyTorch; the emulated
numerics, the device clock and the model catalog replace its internals.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from dojo_runtime.config import StepMetrics, TrainConfig


@dataclass
class TrainState:
    step: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    device_seconds: float = 0.0


def _load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target, dtype=torch.long)
    return x, y


class Trainer:
    def __init__(self, config: TrainConfig) -> None:
        if config.architecture != "mlp" or config.dataset != "digits":
            raise ValueError("this engine version trains only model mlp on dataset digits")
        self.config = config
        self.x, self.y = _load_digits()

    def _build(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(self.config.seed)
        hidden = int(self.config.model_params.get("hidden", 64))
        layers: list[nn.Module] = [nn.Linear(64, hidden), nn.ReLU()]
        for _ in range(int(self.config.model_params.get("layers", 1)) - 1):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        layers.append(nn.Linear(hidden, 10))
        model = nn.Sequential(*layers)
        opt_cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
        opt = opt_cls[self.config.optimizer](model.parameters(), lr=self.config.learning_rate)
        return model, opt

    def initial_state(self) -> TrainState:
        model, opt = self._build()
        gen = torch.Generator().manual_seed(self.config.seed)
        return TrainState(0, model, opt, gen)

    def snapshot(self, state: TrainState) -> bytes:
        buf = io.BytesIO()
        torch.save(
            {
                "step": state.step,
                "model": state.model.state_dict(),
                "optimizer": state.optimizer.state_dict(),
                "rng": state.generator.get_state(),
                "device_seconds": state.device_seconds,
            },
            buf,
        )
        return buf.getvalue()

    def restore(self, blob: bytes) -> TrainState:
        data = torch.load(io.BytesIO(blob), weights_only=True)
        state = self.initial_state()
        state.model.load_state_dict(data["model"])
        state.optimizer.load_state_dict(data["optimizer"])
        state.generator.set_state(data["rng"])
        state.step = int(data["step"])
        state.device_seconds = float(data["device_seconds"])
        return state

    def train(
        self,
        state: TrainState,
        until_step: int,
        *,
        on_step: Callable[[StepMetrics], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainState:
        dtype = torch.bfloat16 if self.config.precision == "bf16" else torch.float32
        bs = self.config.batch_size
        started = time.perf_counter()
        while state.step < until_step:
            if should_stop is not None and should_stop():
                break
            t0 = time.perf_counter()
            idx = torch.randint(0, len(self.x), (bs,), generator=state.generator)
            xb, yb = self.x[idx], self.y[idx]
            with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
                logits = state.model(xb)
            loss = nn.functional.cross_entropy(logits.float(), yb)
            state.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            state.optimizer.step()
            state.step += 1
            dt = time.perf_counter() - t0
            if on_step is not None:
                acc = (logits.argmax(-1) == yb).float().mean().item()
                on_step(
                    StepMetrics(
                        step=state.step,
                        loss=loss.item(),
                        accuracy=acc,
                        samples_per_second=bs / max(dt, 1e-9),
                        wall_seconds=time.perf_counter() - started,
                        device_seconds=state.device_seconds,
                        modelled_samples_per_second=0.0,
                    )
                )
        return state
