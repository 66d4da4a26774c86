"""Typed, immutable views of the hardware figures and cost-model parameters.

Each spec keeps the `source` (and where given `confidence`) of its figures, as the YAML does.
Bandwidths are decimal bytes per second; peaks are FLOP/s (a multiply-add counts 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType


@dataclass(frozen=True)
class NodeSpec:
    """One Dojo node (core) of a D1 die."""

    clock_hz: float
    sram_bytes: float
    peak_bf16_flops: float
    peak_cfp8_flops: float
    peak_cfp16_flops: float
    peak_fp32_flops: float
    sram_load_bandwidth_bytes_per_s: float
    sram_store_bandwidth_bytes_per_s: float
    source: str
    confidence: str


@dataclass(frozen=True)
class TileSpec:
    """A training tile: 5x5 D1 dies on one wafer."""

    d1_chips: int
    nodes: int
    peak_bf16_flops: float
    peak_cfp8_flops: float
    peak_fp32_flops: float
    sram_bytes: float
    ontile_bisection_bandwidth_bytes_per_s: float
    offtile_bandwidth_per_edge_bytes_per_s: float
    max_dips_per_edge: int
    dips_per_tile_average_in_tray: float
    power_w: float
    source: str
    confidence: str


@dataclass(frozen=True)
class TraySpec:
    """A system tray: a rows x cols mesh of tiles that abut edge to edge, plus DIPs."""

    tiles: int
    rows: int
    cols: int
    dips: int
    source: str


@dataclass(frozen=True)
class PodSpec:
    """Cabinets and the ExaPOD: how trays stack up."""

    trays_per_cabinet: int
    cabinets_per_exapod: int
    tiles_per_exapod: int
    source: str


@dataclass(frozen=True)
class DipSpec:
    """Dojo Interface Processor: the HBM and Z-plane (TTPoE) of the tiles."""

    hbm_bytes: float
    hbm_bandwidth_bytes_per_s: float
    ttp_link_to_tile_bandwidth_bytes_per_s: float
    host_pcie_bandwidth_bytes_per_s: float
    ttpoe_ethernet_bandwidth_bytes_per_s: float
    source: str
    confidence: str


@dataclass(frozen=True)
class GpuSpec:
    """One GPU of a pool, and the 8-GPU node it sits in."""

    accelerator: str  # "gpu-a100", ...
    part: str  # spec key, e.g. "a100_sxm_40gb"
    peak_bf16_flops: float  # dense 16-bit tensor rate (FP16 where no BF16)
    peak_fp8_flops: float | None  # None: no FP8 (falls back to the 16-bit rate)
    peak_fp32_flops: float  # non-tensor FP32
    hbm_bytes: float
    hbm_bandwidth_bytes_per_s: float
    nvlink_bandwidth_bytes_per_s: float  # total, bidirectional
    gpus_per_node: int
    node_network_bytes_per_s: float  # scale-out, all NICs of a node, per direction
    source: str
    confidence: str
    peak_tf32_flops: float | None = None  # dense TF32 tensor rate; None: no TF32 (runs FP32)
    architecture: str = ""  # "volta" | "ampere" | "hopper": selects per-generation efficiencies


@dataclass(frozen=True)
class LatencySpec:
    ttpoe_s: float
    nvlink_s: float
    tile_edge_hop_s: float
    gpu_network_s: float
    source: str


@dataclass(frozen=True)
class PriceBook:
    """USD per device-hour by accelerator type, with the date the prices hold for."""

    usd_per_device_hour: Mapping[str, float]
    price_date: str
    source: str

    def price(self, accelerator: str) -> float:
        try:
            return self.usd_per_device_hour[accelerator]
        except KeyError:
            raise KeyError(f"no price for accelerator {accelerator!r}") from None

    def with_overrides(self, prices: Mapping[str, float] | None) -> PriceBook:
        """Prices from configuration win over the defaults; the date says which is which."""
        if not prices:
            return self
        merged = {**self.usd_per_device_hour, **{k: float(v) for k, v in prices.items()}}
        return PriceBook(
            MappingProxyType(merged),
            f"{self.price_date}; overridden: {', '.join(sorted(prices))}",
            self.source,
        )


@dataclass(frozen=True)
class HardwareSpecs:
    as_of: str
    node: NodeSpec
    tile: TileSpec
    tray: TraySpec
    pod: PodSpec
    dip: DipSpec
    gpus: Mapping[str, GpuSpec]  # by accelerator type
    latencies: LatencySpec
    prices: PriceBook
    accelerators: tuple[str, ...] = field(default=())

    def gpu(self, accelerator: str) -> GpuSpec:
        try:
            return self.gpus[accelerator]
        except KeyError:
            raise ValueError(f"unknown GPU accelerator {accelerator!r}") from None


@dataclass(frozen=True)
class Efficiency:
    """Fractions of peak a target sustains (see cost_model.yaml for why)."""

    matrix: float
    vector: float
    memory: float
    network: float
    # (kernel class, precision, matrix efficiency): where a class reaches a different fraction
    # of the format's peak than large GEMMs do (e.g. cuDNN convolutions by precision)
    by_kernel: tuple[tuple[str, str, float], ...] = ()

    # (architecture, kernel class, precision, matrix efficiency): where one GPU generation's
    # kernels reach a different fraction of its peak than the others' (Volta's convolutions)
    by_architecture: tuple[tuple[str, str, str, float], ...] = ()

    def matrix_for(self, kind: str, precision: str) -> float:
        for k, p, value in self.by_kernel:
            if k == kind and p == precision:
                return value
        return self.matrix

    def for_architecture(self, architecture: str) -> Efficiency:
        """These efficiencies as a GPU of `architecture` sees them: its own per-kernel values
        first, the shared ones for every kernel it has none for."""
        own = tuple((k, p, v) for a, k, p, v in self.by_architecture if a == architecture)
        if not own:
            return self
        shadowed = {(k, p) for k, p, _ in own}
        shared = tuple(e for e in self.by_kernel if (e[0], e[1]) not in shadowed)
        return replace(self, by_kernel=own + shared)


@dataclass(frozen=True)
class CostParams:
    dojo: Efficiency
    gpu: Efficiency
    dojo_kernel_overhead_s: float
    gpu_kernel_overhead_s: float
    sram_usable_fraction: float
    links_are_bidirectional: bool

    def efficiency(self, kind: str) -> Efficiency:
        return self.dojo if kind == "dojo" else self.gpu

    def kernel_overhead_s(self, kind: str) -> float:
        return self.dojo_kernel_overhead_s if kind == "dojo" else self.gpu_kernel_overhead_s
