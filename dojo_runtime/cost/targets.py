"""What one accelerator allocation (a Dojo partition or a GPU group) offers a kernel.

Data parallelism: a kernel call describes the whole global batch; the `count` devices of the
allocation each do 1/count of it, so an allocation is modelled as one accelerator with `count`
times the peaks, bandwidths and on-chip memory of one device (weights are replicated in truth;
the split is exact for activations and FLOPs and an approximation for weight reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dojo_runtime.specs import CostParams, Efficiency, HardwareSpecs

PRECISIONS = ("fp32", "tf32", "bf16", "cfp16", "cfp8")


@dataclass(frozen=True)
class Target:
    accelerator: str
    kind: str  # "dojo" | "gpu"
    count: int
    matrix_peak: Mapping[str, float]  # precision -> FLOP/s of the matrix units, all devices
    vector_peak: float  # FLOP/s of the vector units (FP32), all devices
    sram_bytes: float  # on-chip memory a kernel may use; 0: HBM roofline only
    sram_read_bytes_per_s: float
    sram_write_bytes_per_s: float
    offchip_bytes_per_s: float  # Dojo: DIP HBM streamed over TTP; GPU: HBM
    efficiency: Efficiency
    kernel_overhead_s: float
    # precision -> the math it runs as where the hardware lacks that mode ("tf32" -> "fp32"
    # on a GPU without TF32 tensor cores, and on Dojo); efficiencies follow the math run
    fallback: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def datapath(self, precision: str) -> str:
        return self.fallback.get(precision, precision)

    def matrix_efficiency(self, kind: str, precision: str) -> float:
        return self.efficiency.matrix_for(kind, self.datapath(precision))

    def peak(self, precision: str) -> float:
        try:
            return self.matrix_peak[precision]
        except KeyError:
            raise ValueError(f"unknown precision {precision!r}; one of {PRECISIONS}") from None


def dojo_target(tiles: int, hw: HardwareSpecs, params: CostParams) -> Target:
    """A partition of `tiles` whole tiles, presented as one accelerator."""
    if tiles < 1:
        raise ValueError("a Dojo partition needs at least one tile")
    t, node = hw.tile, hw.node
    # Each tile streams from its share of the tray's DIPs: HBM behind a TTP link, whichever is
    # slower, and never more than one tile edge carries.
    per_dip = min(hw.dip.hbm_bandwidth_bytes_per_s, hw.dip.ttp_link_to_tile_bandwidth_bytes_per_s)
    per_tile_offchip = min(
        t.dips_per_tile_average_in_tray * per_dip, t.offtile_bandwidth_per_edge_bytes_per_s
    )
    bf16 = t.peak_bf16_flops
    return Target(
        accelerator="dojo-tile",
        kind="dojo",
        count=tiles,
        matrix_peak=MappingProxyType(
            {
                "fp32": tiles * t.peak_fp32_flops,
                "tf32": tiles * t.peak_fp32_flops,  # no TF32 mode: FP32 math
                "bf16": tiles * bf16,
                # CFP16 rate is not stated by Tesla; the specs assume the BF16 rate.
                "cfp16": tiles * bf16 * node.peak_cfp16_flops / node.peak_bf16_flops,
                "cfp8": tiles * t.peak_cfp8_flops,
            }
        ),
        vector_peak=tiles * t.peak_fp32_flops,
        sram_bytes=tiles * t.sram_bytes * params.sram_usable_fraction,
        sram_read_bytes_per_s=tiles * t.nodes * node.sram_load_bandwidth_bytes_per_s,
        sram_write_bytes_per_s=tiles * t.nodes * node.sram_store_bandwidth_bytes_per_s,
        offchip_bytes_per_s=tiles * per_tile_offchip,
        efficiency=params.efficiency("dojo"),
        kernel_overhead_s=params.kernel_overhead_s("dojo"),
        fallback=MappingProxyType({"tf32": "fp32"}),
    )


def gpu_target(accelerator: str, gpus: int, hw: HardwareSpecs, params: CostParams) -> Target:
    """`gpus` GPUs of one type; roofline against HBM (caches are not modelled)."""
    if gpus < 1:
        raise ValueError("a GPU group needs at least one GPU")
    g = hw.gpu(accelerator)
    half = g.peak_bf16_flops
    fp8 = g.peak_fp8_flops if g.peak_fp8_flops is not None else half  # no FP8: 16-bit path
    return Target(
        accelerator=accelerator,
        kind="gpu",
        count=gpus,
        # "fp32" is full FP32 on the CUDA cores, PyTorch's default for matmuls (no TF32).
        matrix_peak=MappingProxyType(
            {
                "fp32": gpus * g.peak_fp32_flops,
                # TF32 tensor cores where the part has them (Ampere on), else FP32 math
                "tf32": gpus * (g.peak_tf32_flops or g.peak_fp32_flops),
                "bf16": gpus * half,
                "cfp16": gpus * half,
                "cfp8": gpus * fp8,
            }
        ),
        vector_peak=gpus * g.peak_fp32_flops,
        sram_bytes=0.0,
        sram_read_bytes_per_s=0.0,
        sram_write_bytes_per_s=0.0,
        offchip_bytes_per_s=gpus * g.hbm_bandwidth_bytes_per_s,
        # Volta's own convolution efficiency where cost_model.yaml has one; Ampere and
        # Hopper share the values fitted on the A100
        efficiency=params.efficiency("gpu").for_architecture(g.architecture),
        kernel_overhead_s=params.kernel_overhead_s("gpu"),
        fallback=MappingProxyType({} if g.peak_tf32_flops else {"tf32": "fp32"}),
    )
