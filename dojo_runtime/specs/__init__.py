"""Hardware figures (Dojo and GPU pools) and cloud prices, loaded from package data.

Every figure lives in `dojo_hardware.yaml` beside its source; the cost model's parameters live
in `cost_model.yaml`. Code asks `load_hardware()` / `load_cost_params()`; nothing else reads the
files. `accelerator_figures()` is the one table of peak throughput, memory and price per
accelerator type that the scheduler, the estimator and billing read.
"""

from dojo_runtime.specs.accelerators import AcceleratorFigures, accelerator_figures, device_memory
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
    "AcceleratorFigures",
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
    "accelerator_figures",
    "accelerator_kind",
    "device_memory",
    "load_cost_params",
    "load_hardware",
]
