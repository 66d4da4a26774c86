"""The hardware figures the core sizes and prices options with, received as plain data.

The core owns no figure. The I/O edge (scheduler.inventory.hardware_figures) fills Figures
from dojo_runtime.specs, where each figure sits beside its source, and Capacity carries them
to every pass; the estimator and billing read the same specs, so they cannot disagree.

The rule for an accelerator type without figures, stated here once: it counts as the
slowest type that has figures, at that type's price (with the packaged specs: a V100), so a
job or a trace naming a type the specs lack still sizes and replays. With no figures at all
(Capacity's default) every type counts the same (throughput 1, price 0): alternatives are
not resized and no price breaks their ties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Figures:
    """Per accelerator type: peak dense BF16 FLOP/s per device and on-demand USD per
    device-hour. Build with `Figures.of`; equal tables compare (and hash) equal."""

    table: tuple[tuple[str, float, float], ...] = ()  # (type, FLOP/s, USD/h), sorted by type
    # Lookups for the hot path (the queue prices thousands of options per pass).
    _throughput: dict[str, float] = field(init=False, repr=False, compare=False)
    _price: dict[str, float] = field(init=False, repr=False, compare=False)
    _fallback: tuple[float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, flops, usd in self.table:
            if not flops > 0 or not usd >= 0:
                raise ValueError(f"figures for {name!r}: throughput must be > 0 and price >= 0")
        object.__setattr__(self, "_throughput", {n: f for n, f, _ in self.table})
        object.__setattr__(self, "_price", {n: p for n, _, p in self.table})
        slowest = min(self.table, key=lambda row: (row[1], row[0]), default=("", 1.0, 0.0))
        object.__setattr__(self, "_fallback", (slowest[1], slowest[2]))

    @classmethod
    def of(cls, figures: Mapping[str, tuple[float, float]]) -> Figures:
        """From {type: (peak FLOP/s per device, USD per device-hour)}."""
        return cls(tuple(sorted((name, float(f), float(p)) for name, (f, p) in figures.items())))

    def throughput(self, accelerator: str) -> float:
        """Peak dense BF16 FLOP/s of one device (the rule above for an unknown type)."""
        return self._throughput.get(accelerator, self._fallback[0])

    def price(self, accelerator: str) -> float:
        """USD per device-hour (the rule above for an unknown type)."""
        return self._price.get(accelerator, self._fallback[1])


NO_FIGURES = Figures()
