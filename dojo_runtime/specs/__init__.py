"""Hardware figures (Dojo and GPU pools) and cloud prices, loaded from package data.

Every figure lives in `dojo_hardware.yaml` beside its source; the cost model's parameters live
in `cost_model.yaml`. Code asks `load_hardware()` / `load_cost_params()`; nothing else reads the
files.
"""

from dojo_runtime.specs.hardware import (
    CostParams,
    DipSpec,
    Efficiency,
    GpuSpec,
    HardwareSpecs,
    LatencySpec,
    NodeSpec,
    PodSpec,
    PriceBook,
    TileSpec,
    TraySpec,
)
from dojo_runtime.specs.loader import accelerator_kind, load_cost_params, load_hardware

__all__ = [
    "CostParams",
    "DipSpec",
    "Efficiency",
    "GpuSpec",
    "HardwareSpecs",
    "LatencySpec",
    "NodeSpec",
    "PodSpec",
    "PriceBook",
    "TileSpec",
    "TraySpec",
    "accelerator_kind",
    "load_cost_params",
    "load_hardware",
]
