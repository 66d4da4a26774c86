"""A GPU group: `count` GPUs of one type, in 8-GPU nodes (NVLink inside, network across)."""

from __future__ import annotations

import math

from dojo_runtime.cost import gpu_allreduce_seconds, gpu_target
from dojo_runtime.devices.modelled import ModelledDevice
from dojo_runtime.specs import CostParams, HardwareSpecs


class GpuGroup(ModelledDevice):
    def __init__(
        self, accelerator: str, gpus: int, precision: str, hw: HardwareSpecs, params: CostParams
    ) -> None:
        super().__init__(gpu_target(accelerator, gpus, hw, params), precision)
        self._hw = hw
        self._params = params
        self.nodes = math.ceil(gpus / hw.gpu(accelerator).gpus_per_node)

    def allreduce_seconds(self, grad_bytes: float) -> float:
        return gpu_allreduce_seconds(
            grad_bytes, self.accelerator, self.count, self._hw, self._params
        )
