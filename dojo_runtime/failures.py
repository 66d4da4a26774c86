"""The runtime's typed failures, so that whoever runs a job can say why it failed without
reading error text, and the finite-loss check that stops a diverging job.

Each is a ValueError or ArithmeticError subclass, so callers that caught ValueError before
still do."""

from __future__ import annotations

import math


class InvalidData(ValueError):
    """The job's dataset could not be loaded (unreadable, wrong shape, bytes mismatch)."""


class UnsupportedModel(ValueError):
    """The model and its configuration cannot be built or trained on this runtime."""


class Diverged(ArithmeticError):
    """The training loss became NaN or infinite at `step`; going on would only waste time."""

    def __init__(self, step: int, loss: float) -> None:
        super().__init__(f"the loss became {loss} at step {step}")
        self.step = step
        self.loss = loss


def check_finite_loss(step: int, loss: float) -> None:
    """Raises Diverged when the loss of `step` is NaN or +-inf."""
    if not math.isfinite(loss):
        raise Diverged(step, loss)
