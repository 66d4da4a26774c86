"""Per accelerator type: the figures every reader outside the cost model needs.

The scheduler sizes a heterogeneous job's alternatives by peak throughput and breaks ties
between them by price; the estimator prices its rows; admission compares a job's peak
memory per device with the device's memory; billing (later) charges. All of them read the
figures here, which are the packaged specs' own (`load_hardware()`: the tile's and each GPU
part's dense 16-bit peak and memory, the price book), so no reader keeps a table of its own
and every figure keeps its source in dojo_hardware.yaml.

Device memory: a GPU's HBM. A Dojo tile's is its on-wafer SRAM (11 GB) plus the HBM of the
DIPs that serve it: a tray's 20 DIPs of 32 GB feed its 6 tiles, 3.33 DIPs a tile on average
(`training_tile.dips_per_tile_average_in_tray` x `dip.hbm_bytes`), 117.6 GB in all. The
tile trains out of SRAM with the DIPs' DRAM as its backing store (HC34), so both hold state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from dojo_runtime.specs.hardware import HardwareSpecs, PriceBook
from dojo_runtime.specs.loader import load_hardware


@dataclass(frozen=True)
class AcceleratorFigures:
    """One accelerator type (what job specs and pools name, e.g. "gpu-h100")."""

    accelerator: str
    kind: str  # "dojo" | "gpu"
    peak_bf16_flops: float  # per device, dense; the 16-bit tensor rate where no BF16
    usd_per_device_hour: float  # on demand, from the price book
    peak_source: str
    price_source: str  # the price book's source and date, or "configuration"
    memory_bytes: float = 0.0  # per device (decimal bytes, as the specs state them)
    memory_source: str = ""


def accelerator_figures(
    hw: HardwareSpecs | None = None, prices: Mapping[str, float] | None = None
) -> Mapping[str, AcceleratorFigures]:
    """Every known accelerator type's figures, in the specs' order. `prices` overrides the
    price book as the estimator's `prices` does (PriceBook.with_overrides)."""
    if hw is None and not prices:
        return _packaged()
    hw = hw or load_hardware()
    return _figures(hw, hw.prices.with_overrides(prices), frozenset(prices or ()))


@cache
def _packaged() -> Mapping[str, AcceleratorFigures]:
    hw = load_hardware()
    return _figures(hw, hw.prices, frozenset())


def _figures(
    hw: HardwareSpecs, book: PriceBook, overridden: frozenset[str]
) -> Mapping[str, AcceleratorFigures]:
    packaged = f"{hw.prices.source} (as of {hw.prices.price_date})"
    out: dict[str, AcceleratorFigures] = {}
    for name in hw.accelerators:
        if name in hw.gpus:
            gpu = hw.gpus[name]
            peak, source, kind = gpu.peak_bf16_flops, gpu.source, "gpu"
        else:  # the one Dojo accelerator type: a whole training tile
            peak, source, kind = hw.tile.peak_bf16_flops, hw.tile.source, "dojo"
        price_source = "configuration" if name in overridden else packaged
        memory, memory_source = device_memory(hw, name)
        out[name] = AcceleratorFigures(
            name, kind, peak, book.price(name), source, price_source, memory, memory_source
        )
    return MappingProxyType(out)


def device_memory(hw: HardwareSpecs, accelerator: str) -> tuple[float, str]:
    """(bytes of memory one device of `accelerator` has, their source); see the module doc."""
    if accelerator in hw.gpus:
        gpu = hw.gpus[accelerator]
        return gpu.hbm_bytes, f"{gpu.part} hbm_bytes: {gpu.source}"
    if accelerator not in hw.accelerators:
        raise ValueError(f"unknown accelerator {accelerator!r}")
    tile, dip = hw.tile, hw.dip
    dram = tile.dips_per_tile_average_in_tray * dip.hbm_bytes
    return tile.sram_bytes + dram, (
        f"derived: training_tile.sram_bytes + dips_per_tile_average_in_tray x dip.hbm_bytes "
        f"({tile.source}; {dip.source})"
    )
