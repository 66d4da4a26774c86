"""Deterministic, segmentable training on a target's numerics and modelled device.

Contract used by the platform's workers:

    trainer = Trainer(config)                  # ValueError "field.path: message" if invalid
    state = trainer.initial_state()            # or trainer.restore(blob)
    state = trainer.train(state, until_step=200, on_step=cb, should_stop=flag)
    blob = trainer.snapshot(state)             # weights, optimizer, numerics, data position,
                                               # device clock
    trainer.evaluate(state)                    # {"loss": ..., "accuracy": ...} held out

Training N steps in segments (restore -> train -> snapshot) gives bit-identical weights to
training N steps straight: every source of randomness (initial weights, batch order,
stochastic rounding, bias trackers) is seeded by the job and saved in the snapshot.

The modelled device time of a step is costed once per trainer (every step has the same
shapes) and added per step, so the device model costs nothing inside the loop.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from dojo_runtime import catalog, data
from dojo_runtime.config import StepMetrics, TrainConfig
from dojo_runtime.devices import make_device
from dojo_runtime.failures import InvalidData, UnsupportedModel, check_finite_loss
from dojo_runtime.ops import Numerics, get_numerics

SNAPSHOT_VERSION = 1
PRECISIONS = ("fp32", "bf16", "cfp8")
SGD_MOMENTUM = 0.9  # "sgd" means SGD with classical momentum
ADAMW_WEIGHT_DECAY = 0.01


@dataclass
class TrainState:
    step: int
    model: catalog.NumericsModule
    optimizer: torch.optim.Optimizer
    numerics: Numerics
    data_position: dict[str, int] = field(default_factory=lambda: {"epoch": 0, "cursor": 0})
    device_seconds: float = 0.0


class Trainer:
    def __init__(self, config: TrainConfig, *, payload: bytes | None = None) -> None:
        """`payload`: the file of an uploaded dataset (config.dataset_meta), as bytes.
        Raises UnsupportedModel for a configuration it cannot train, InvalidData for a
        dataset it cannot load (both ValueErrors naming the spec's field)."""
        try:
            _check_config(config)
            self.info = catalog.data_info_for(config)
        except ValueError as exc:
            raise UnsupportedModel(str(exc)) from exc
        self.config = config
        try:
            self.data = data.load(config, seq_len=self.info.input_shape[0], payload=payload)
        except (ValueError, OSError, EOFError) as exc:
            raise InvalidData(str(exc)) from exc
        try:
            device = make_device(config.accelerator, config.device_count, config.precision)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"resources.accelerators: {exc}") from exc
        kernels, grad_bytes = catalog.step_profile(config)
        self.step_seconds = device.run_step(kernels, grad_bytes)
        self.step_breakdown = device.breakdown()
        self.language_model = self.info.task == data.LANGUAGE_MODEL

    # -- state -----------------------------------------------------------------------------
    def initial_state(self) -> TrainState:
        cfg = self.config
        numerics = get_numerics(cfg.precision, seed=cfg.seed)
        model = catalog.build_model(cfg, numerics, self.info)
        return TrainState(0, model, _optimizer(cfg, model), numerics)

    def snapshot(self, state: TrainState) -> bytes:
        buf = io.BytesIO()
        torch.save(
            {
                "version": SNAPSHOT_VERSION,
                "identity": self._identity(),
                "step": state.step,
                "model": state.model.state_dict(),
                "optimizer": state.optimizer.state_dict(),
                "numerics": state.numerics.state_dict(),
                "data_position": dict(state.data_position),
                "device_seconds": state.device_seconds,
            },
            buf,
        )
        return buf.getvalue()

    def restore(self, blob: bytes) -> TrainState:
        saved = torch.load(io.BytesIO(blob), weights_only=True)
        if saved.get("version") != SNAPSHOT_VERSION or saved.get("identity") != self._identity():
            raise ValueError("checkpoint: made by a different job configuration or version")
        state = self.initial_state()
        state.model.load_state_dict(saved["model"])
        state.optimizer.load_state_dict(saved["optimizer"])
        state.numerics.load_state_dict(saved["numerics"])
        state.data_position = {k: int(v) for k, v in saved["data_position"].items()}
        state.step = int(saved["step"])
        state.device_seconds = float(saved["device_seconds"])
        return state

    # -- training --------------------------------------------------------------------------
    def train(
        self,
        state: TrainState,
        until_step: int,
        *,
        on_step: Callable[[StepMetrics], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> TrainState:
        """Train until state.step == until_step, or until should_stop() says so. Raises
        Diverged (with the step) when a step's loss is NaN or infinite."""
        bs = self.config.batch_size
        modelled_rate = bs / self.step_seconds if self.step_seconds > 0 else 0.0
        self.data.set_position(state.data_position)
        state.model.train()
        started = time.perf_counter()
        try:
            while state.step < until_step:
                if should_stop is not None and should_stop():
                    break
                t0 = time.perf_counter()
                loss, logits, y = self._step(state)
                state.step += 1
                loss_value = float(loss.item())
                check_finite_loss(state.step, loss_value)  # Diverged: no use going on
                state.device_seconds += self.step_seconds
                if on_step is not None:
                    now = time.perf_counter()
                    on_step(
                        StepMetrics(
                            step=state.step,
                            loss=loss_value,
                            accuracy=_accuracy(logits, y),
                            samples_per_second=bs / max(now - t0, 1e-9),
                            wall_seconds=now - started,
                            device_seconds=state.device_seconds,
                            modelled_samples_per_second=modelled_rate,
                        )
                    )
        finally:
            state.data_position = self.data.position()
        return state

    def _step(self, state: TrainState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = self.data.next_batch()
        logits = state.model(x)
        loss = state.numerics.cross_entropy(logits.flatten(0, -2), y.flatten())
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]  # Tensor.backward is unannotated in torch
        state.optimizer.step()
        return loss.detach(), logits.detach(), y

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, state: TrainState) -> dict[str, float]:
        """Held-out mean loss and accuracy (next-byte accuracy for a language model).

        Runs on the target's numerics but leaves their state (bias trackers, rounding
        generator) as it was, so evaluating never changes what training does next.
        """
        saved = state.numerics.state_dict()
        total_loss, correct, count = 0.0, 0, 0
        state.model.eval()
        try:
            with torch.no_grad():
                for x, y in self.data.eval_batches():
                    logits = state.model(x).flatten(0, -2)
                    target = y.flatten()
                    loss = state.numerics.cross_entropy(logits, target)
                    total_loss += float(loss) * len(target)
                    correct += int((logits.argmax(-1) == target).sum())
                    count += len(target)
        finally:
            state.numerics.load_state_dict(saved)
            state.model.train()
        return {
            "loss": total_loss / max(count, 1),
            "accuracy": correct / max(count, 1),
            "samples": float(count),
        }

    def _identity(self) -> dict[str, Any]:
        c = self.config
        return {
            "architecture": c.architecture,
            "params": dict(sorted(c.model_params.items())),
            "dataset": c.dataset,
            "precision": c.precision,
            "optimizer": c.optimizer,
        }


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean())


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    lr, params = config.learning_rate, model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=ADAMW_WEIGHT_DECAY)
    return torch.optim.Adam(params, lr=lr)


def _check_config(config: TrainConfig) -> None:
    """Raise ValueError naming the first bad field, as the job spec names it."""
    problems = list(
        catalog.validate_params(config.architecture, config.model_params, data.kind_of(config))
    )
    if config.precision not in PRECISIONS:
        problems.append(("training.precision", f"must be one of {list(PRECISIONS)}"))
    if config.optimizer not in ("sgd", "adam", "adamw"):
        problems.append(("training.optimizer", "must be one of ['sgd', 'adam', 'adamw']"))
    if not config.learning_rate > 0:
        problems.append(("training.learning_rate", "must be positive"))
    if config.batch_size < 1:
        problems.append(("training.batch_size", "must be at least 1"))
    if config.device_count < 1:
        problems.append(("resources.count", "must be at least 1"))
    if problems:
        field_path, message = problems[0]
        raise ValueError(f"{field_path}: {message}")
