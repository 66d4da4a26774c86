"""Pre-submit estimates: step time, total time, cost and peak memory per device of a job on
each accelerator option.

cost = allocated devices x modelled total seconds / 3600 x price per device-hour, the way
clouds bill reserved hardware. Prices default to the packaged ones (dated); a mapping passed
in overrides them per accelerator type. Memory is dojo_runtime.memory's peak per device
against the device's memory; cheapest and fastest are marked among the options that fit.
`estimate_config` checks memory first and raises DoesNotFit, without modelling any step,
when no option fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dojo_runtime.config import TrainConfig
from dojo_runtime.devices import make_device
from dojo_runtime.kernels import KernelCall
from dojo_runtime.memory import Fit, fits, format_bytes
from dojo_runtime.specs import CostParams, HardwareSpecs, PriceBook, load_hardware

DOJO = "dojo-tile"
GPU_COUNTS = (1, 2, 4, 8)


@dataclass(frozen=True)
class EstimateRow:
    accelerator: str
    count: int
    step_seconds: float
    total_seconds: float
    cost_usd: float
    cheapest: bool
    fastest: bool
    usd_per_device_hour: float = 0.0
    samples_per_second: float = 0.0
    peak_memory_bytes: int = 0  # per device; 0: not estimated
    device_memory_bytes: int = 0  # what one device has
    fits: bool = True  # the peak fits the device's memory


class DoesNotFit(ValueError):
    """No option has the memory the job needs per device; `fits` has the figures."""

    def __init__(self, fits: Sequence[Fit]) -> None:
        self.fits = list(fits)
        super().__init__("; ".join(f.describe() for f in self.fits) or "no options")


def default_options(config: TrainConfig, hw: HardwareSpecs | None = None) -> list[tuple[str, int]]:
    """Dojo partitions of 1..N tiles (N: a tray, or more if asked) and each GPU type x count."""
    hw = hw or load_hardware()
    asked = config.device_count
    tiles = max(hw.tray.tiles, asked if config.accelerator == DOJO else 0)
    options = [(DOJO, n) for n in range(1, tiles + 1)]
    for gpu in hw.gpus:
        counts = set(GPU_COUNTS) | ({asked} if config.accelerator == gpu else set())
        options += [(gpu, n) for n in sorted(counts)]
    return options


def price_book(
    prices: Mapping[str, float] | None = None, hw: HardwareSpecs | None = None
) -> PriceBook:
    """Default prices (with their date), overridden by configuration."""
    return (hw or load_hardware()).prices.with_overrides(prices)


def _mark(rows: list[EstimateRow]) -> list[EstimateRow]:
    candidates = [i for i, r in enumerate(rows) if r.fits]
    if not candidates:
        return rows
    cheapest = min(candidates, key=lambda i: (rows[i].cost_usd, rows[i].total_seconds))
    fastest = min(candidates, key=lambda i: (rows[i].total_seconds, rows[i].cost_usd))
    return [replace(r, cheapest=i == cheapest, fastest=i == fastest) for i, r in enumerate(rows)]


def estimate(
    config: TrainConfig,
    *,
    step_kernels: Sequence[KernelCall],
    grad_bytes: float,
    options: Sequence[tuple[str, int]] | None = None,
    prices: Mapping[str, float] | None = None,
    hw: HardwareSpecs | None = None,
    params: CostParams | None = None,
    memory: Sequence[Fit] | None = None,
) -> list[EstimateRow]:
    """One row per (accelerator, count) option, cheapest and fastest marked. `memory`, one
    Fit per option in the same order, adds each row's peak memory per device."""
    hw = hw or load_hardware()
    book = price_book(prices, hw)
    rows = []
    chosen = options if options is not None else default_options(config, hw)
    for i, (accelerator, count) in enumerate(chosen):
        device = make_device(accelerator, count, config.precision, hw=hw, params=params)
        step = device.run_step(step_kernels, grad_bytes)
        total = step * config.steps
        price = book.price(accelerator)
        fit = memory[i] if memory is not None else None
        rows.append(
            EstimateRow(
                accelerator,
                count,
                step,
                total,
                count * total / 3600.0 * price,
                False,
                False,
                price,
                config.batch_size / step if step > 0 else 0.0,
                fit.needed_bytes if fit else 0,
                fit.available_bytes if fit else 0,
                fit.fits if fit else True,
            )
        )
    return _mark(rows)


def estimate_config(
    config: TrainConfig,
    *,
    options: Sequence[tuple[str, int]] | None = None,
    hw: HardwareSpecs | None = None,
    **kw: Any,
) -> list[EstimateRow]:
    """`estimate` with the kernels of one training step of the catalog model and each
    option's memory. Raises DoesNotFit (before modelling a step) when no option fits."""
    from dojo_runtime.catalog import step_profile  # lazy: the catalog is heavier than the model

    hw = hw or load_hardware()
    chosen = list(options) if options is not None else default_options(config, hw)
    memory = fits(config, chosen, hw)
    if chosen and not any(f.fits for f in memory):
        raise DoesNotFit(memory)
    kernels, grad_bytes = step_profile(config)
    return estimate(
        config,
        step_kernels=kernels,
        grad_bytes=grad_bytes,
        options=chosen,
        hw=hw,
        memory=memory,
        **kw,
    )


def relative_throughput(
    config: TrainConfig,
    accelerator: str,
    count: int,
    *,
    step_kernels: Sequence[KernelCall] | None = None,
    grad_bytes: float | None = None,
) -> float:
    """Modelled samples/s of the config's model on `count` devices of `accelerator`."""
    if step_kernels is None or grad_bytes is None:
        from dojo_runtime.catalog import step_profile

        step_kernels, grad_bytes = step_profile(config)
    device = make_device(accelerator, count, config.precision)
    step = device.run_step(step_kernels, grad_bytes)
    return config.batch_size / step if step > 0 else 0.0


def config_from_spec(spec: Mapping[str, Any]) -> TrainConfig:
    """A job spec as YAML/JSON data (the protobuf JobSpec's field names) -> TrainConfig."""
    model = spec.get("model") or {}
    data = spec.get("dataset") or {}
    training = spec.get("training") or {}
    resources = spec.get("resources") or {}
    if model.get("onnx"):
        raise ValueError(
            "model.onnx: an uploaded model is known to the platform only; "
            "estimate this spec with `dojo jobs estimate FILE`"
        )
    if not model.get("architecture"):
        raise ValueError("model.architecture is required")
    if str(data.get("name", "")).startswith("organizations/"):
        raise ValueError(
            "dataset.name: an uploaded dataset's shapes are known to the platform only; "
            "estimate this spec with `dojo jobs estimate FILE`"
        )
    accelerators = list(resources.get("accelerators") or [DOJO])
    defaults = TrainConfig(architecture=str(model["architecture"]))
    return TrainConfig(
        architecture=str(model["architecture"]),
        model_params={str(k): int(v) for k, v in (model.get("params") or {}).items()},
        dataset=str(data.get("name", defaults.dataset)),
        steps=int(training.get("steps", defaults.steps)),
        batch_size=int(training.get("batch_size", defaults.batch_size)),
        optimizer=str(training.get("optimizer", defaults.optimizer)),
        learning_rate=float(training.get("learning_rate", defaults.learning_rate)),
        precision=str(training.get("precision", defaults.precision)),
        seed=int(training.get("seed", defaults.seed)),
        accelerator=str(accelerators[0]),
        device_count=int(resources.get("count", 1) or 1),
    )


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    if seconds < 172800:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} d"


def format_table(rows: Sequence[EstimateRow], price_date: str = "") -> str:
    """A plain-text table of the estimates, cheapest and fastest marked."""
    head = (
        f"{'accelerator':<12} {'count':>5} {'step':>10} {'total':>10} {'samples/s':>11} "
        f"{'$/dev-h':>8} {'cost USD':>11} {'memory/device':>21}  mark"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        marks = (("cheapest", r.cheapest), ("fastest", r.fastest), ("does not fit", not r.fits))
        mark = " ".join(m for m, on in marks if on)
        lines.append(
            f"{r.accelerator:<12} {r.count:>5} {_duration(r.step_seconds):>10} "
            f"{_duration(r.total_seconds):>10} {r.samples_per_second:>11.4g} "
            f"{r.usd_per_device_hour:>8.2f} {r.cost_usd:>11.4g} {memory_text(r):>21}  "
            f"{mark}".rstrip()
        )
    if price_date:
        lines.append(f"prices: USD per device-hour, as of {price_date}")
    return "\n".join(lines)


def memory_text(row: EstimateRow) -> str:
    """ "12.3 GiB / 74.5 GiB": peak per device / the device's memory ("" if not estimated)."""
    if not row.device_memory_bytes:
        return ""
    return f"{format_bytes(row.peak_memory_bytes)} / {format_bytes(row.device_memory_bytes)}"
