"""Deterministic, segmentable training on a target's numerics and modelled device.

Contract used by the platform's workers:

    trainer = Trainer(config)                  # ValueError "field.path: message" if invalid
    state = trainer.initial_state()            # or trainer.restore(blob)
    state = trainer.train(state, until_step=200, on_step=cb, should_stop=flag)
    blob = trainer.snapshot(state)             # weights, optimizer, numerics, data position,
                                               # device clock
    trainer.evaluate(state)                    # {"loss": ..., "accuracy": ...} held out
                                               # (regression: loss is MSE, accuracy NaN)

Training N steps in segments (restore -> train -> snapshot) gives bit-identical weights to
training N steps straight: every source of randomness (initial weights, batch order,
stochastic rounding, bias trackers) is seeded by the job and saved in the snapshot.

The modelled device time of a step is costed once per trainer (every step has the same
shapes) and added per step, so the device model costs nothing inside the loop.

Data parallel: `Trainer(config, collective=c)` is one rank of `c.world`. Every rank builds
the same model and walks the same global batch order, trains on its slice of each global
batch (`parallel.shard_bounds`) and sums gradients with the others once per step
(`parallel.reduce_step`), so the ranks keep identical weights. `snapshot` is collective:
every rank calls it and rank 0 gets the blob, which carries every rank's numerics state
(its bias trackers and rounding generator), so N ranks resume bit-identically. The
modelled device time is the whole job's (config.device_count devices, collectives
included), the same on every rank.

`device`: the torch device the rank computes on ("cpu", "cuda:0"); `parallel.choose_device`
picks it.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from dojo_runtime import catalog, data
from dojo_runtime.catalog.losses import task_loss
from dojo_runtime.config import StepMetrics, TrainConfig
from dojo_runtime.devices import make_device
from dojo_runtime.failures import InvalidData, UnsupportedModel, check_finite_loss
from dojo_runtime.ops import Numerics, get_numerics
from dojo_runtime.parallel import Collective, StepTotals, rank_seed, reduce_step, shard_bounds

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
    def __init__(
        self,
        config: TrainConfig,
        *,
        payload: bytes | None = None,
        collective: Collective | None = None,
        device: str = "cpu",
    ) -> None:
        """`payload`: the file of an uploaded dataset (config.dataset_meta), as bytes;
        `collective`: this rank's group (None: one rank); `device`: where it computes.
        Raises UnsupportedModel for a configuration it cannot train, InvalidData for a
        dataset it cannot load (both ValueErrors naming the spec's field)."""
        try:
            _check_config(config)
            self.info = catalog.data_info_for(config)
        except ValueError as exc:
            raise UnsupportedModel(str(exc)) from exc
        self.config = config
        self.collective = collective
        self.device = torch.device(device)
        self.rank = collective.rank if collective is not None else 0
        try:
            self.data = data.load(config, seq_len=self.info.input_shape[0], payload=payload)
        except (ValueError, OSError, EOFError) as exc:
            raise InvalidData(str(exc)) from exc
        if collective is not None:
            self.data.set_shard(*shard_bounds(config.batch_size, self.rank, collective.world))
        try:
            # The whole job's devices (collectives included): what billing reads, per rank.
            modelled = make_device(config.accelerator, config.device_count, config.precision)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"resources.accelerators: {exc}") from exc
        kernels, grad_bytes = catalog.step_profile(config)
        self.step_seconds = modelled.run_step(kernels, grad_bytes)
        self.step_breakdown = modelled.breakdown()
        self.language_model = self.info.task == data.LANGUAGE_MODEL
        self.regression = self.info.task == data.REGRESSION  # MSE; no accuracy

    # -- state -----------------------------------------------------------------------------
    def initial_state(self) -> TrainState:
        cfg = self.config
        numerics = get_numerics(
            cfg.precision, seed=rank_seed(cfg.seed, self.rank), device=self.device
        )
        model = catalog.build_model(cfg, numerics, self.info).to(self.device)
        return TrainState(0, model, _optimizer(cfg, model), numerics)

    def snapshot(self, state: TrainState) -> bytes:
        """The checkpoint's bytes. With a collective every rank must call it (it gathers the
        ranks' numerics states); rank 0 gets the blob, the others b""."""
        ranks = self._gather_numerics(state)
        if self.rank != 0:
            return b""
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
                "rank_numerics": ranks,
            },
            buf,
        )
        return buf.getvalue()

    def _gather_numerics(self, state: TrainState) -> list[dict[str, Any]]:
        """Ranks 1..N-1's numerics states, on rank 0 (torch.save'd over the collective and
        read back with weights_only, as a checkpoint is)."""
        if self.collective is None:
            return []
        buf = io.BytesIO()
        torch.save(state.numerics.state_dict(), buf)
        blobs = self.collective.gather_bytes(buf.getvalue())
        return [torch.load(io.BytesIO(b), weights_only=True) for b in blobs[1:]]

    def restore(self, blob: bytes) -> TrainState:
        saved = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
        if saved.get("version") != SNAPSHOT_VERSION or saved.get("identity") != self._identity():
            raise ValueError("checkpoint: made by a different job configuration or version")
        state = self.initial_state()
        state.model.load_state_dict(saved["model"])
        state.optimizer.load_state_dict(saved["optimizer"])
        ranks = saved.get("rank_numerics") or []
        # Rank r > 0 resumes its own numerics when the checkpoint has them (same world size).
        own = ranks[self.rank - 1] if 0 < self.rank <= len(ranks) else saved["numerics"]
        state.numerics.load_state_dict(own)
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
        """Train until state.step == until_step, or until should_stop() says so (with a
        collective: until any rank's should_stop() says so, all ranks after the same step).
        Raises Diverged (with the step) when a step's loss is NaN or infinite (with a
        collective: the global batch's loss, so every rank raises at the same step)."""
        bs = self.config.batch_size
        modelled_rate = bs / self.step_seconds if self.step_seconds > 0 else 0.0
        self.data.set_position(state.data_position)
        state.model.train()
        started = time.perf_counter()
        stop = False
        try:
            while state.step < until_step and not stop:
                if self.collective is None and should_stop is not None and should_stop():
                    break
                t0 = time.perf_counter()
                totals = self._step(state, should_stop, report=on_step is not None)
                stop = totals.stop
                state.step += 1
                check_finite_loss(state.step, totals.loss)  # Diverged: no use going on
                state.device_seconds += self.step_seconds
                if on_step is not None:
                    now = time.perf_counter()
                    on_step(
                        StepMetrics(
                            step=state.step,
                            loss=totals.loss,
                            accuracy=None if self.regression else totals.accuracy,
                            samples_per_second=bs / max(now - t0, 1e-9),
                            wall_seconds=now - started,
                            device_seconds=state.device_seconds,
                            modelled_samples_per_second=modelled_rate,
                        )
                    )
        finally:
            state.data_position = self.data.position()
        return state

    def _step(
        self, state: TrainState, should_stop: Callable[[], bool] | None, *, report: bool
    ) -> StepTotals:
        x, y = self.data.next_batch()
        x, y = x.to(self.device), y.to(self.device)
        logits = state.model(x)
        loss = task_loss(state.numerics, self.info.task, logits, y)
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]  # Tensor.backward is unannotated in torch
        if self.collective is not None:
            n = self.data.shard_size
            totals = reduce_step(
                state.model.parameters(),
                self.collective,
                local_n=n,
                global_n=self.config.batch_size,
                loss=loss.detach(),
                correct=self._accuracy(logits.detach(), y) * n,
                stop=should_stop is not None and should_stop(),
            )
        else:  # the loss always: a diverged step must be caught
            accuracy = self._accuracy(logits.detach(), y) if report else 0.0
            totals = StepTotals(float(loss.item()), accuracy, stop=False)
        state.optimizer.step()
        return totals

    # -- evaluation --------------------------------------------------------------------------
    def _accuracy(self, logits: torch.Tensor, y: torch.Tensor) -> float:
        return 0.0 if self.regression else _accuracy(logits, y)

    def evaluate(self, state: TrainState) -> dict[str, float]:
        """Held-out mean loss and accuracy (next-byte accuracy for a language model; for
        regression the loss is the mean squared error and accuracy NaN).

        Runs on the target's numerics but leaves their state (bias trackers, rounding
        generator) as it was, so evaluating never changes what training does next.
        """
        saved = state.numerics.state_dict()
        total_loss, correct, count = 0.0, 0, 0
        state.model.eval()
        try:
            with torch.no_grad():
                for x_cpu, y_cpu in self.data.eval_batches():
                    x, y = x_cpu.to(self.device), y_cpu.to(self.device)
                    out = state.model(x)
                    loss = task_loss(state.numerics, self.info.task, out, y)
                    # Per sample (per token for a language model); MSE per target value.
                    n = len(y) if self.regression else y.numel()
                    total_loss += float(loss) * n
                    if not self.regression:
                        correct += int((out.flatten(0, -2).argmax(-1) == y.flatten()).sum())
                    count += n
        finally:
            state.numerics.load_state_dict(saved)
            state.model.train()
        return {
            "loss": total_loss / max(count, 1),
            "accuracy": math.nan if self.regression else correct / max(count, 1),
            "samples": float(count),
        }

    def _identity(self) -> dict[str, Any]:
        c = self.config
        model = {"model_sha256": c.custom_model.sha256} if c.custom_model is not None else {}
        return {
            **model,
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
