"""A Dojo partition: N whole tiles in a compact sub-mesh, presented as one accelerator."""

from __future__ import annotations

from dojo_runtime.cost import dojo_allreduce_seconds, dojo_target, tray_split
from dojo_runtime.devices.modelled import ModelledDevice
from dojo_runtime.specs import CostParams, HardwareSpecs


def tray_shape(tiles: int, rows: int, cols: int) -> tuple[int, int]:
    """Bounding box (rows, cols) of the most compact sub-mesh of `tiles` in a rows x cols tray."""
    if not 1 <= tiles <= rows * cols:
        raise ValueError(f"{tiles} tiles do not fit a {rows}x{cols} tray")
    best: tuple[int, int] | None = None
    for r in range(1, rows + 1):
        c = -(-tiles // r)  # ceil
        if c <= cols and (best is None or (r * c, r + c) < (best[0] * best[1], sum(best))):
            best = (r, c)
    assert best is not None  # tiles <= rows * cols guarantees r = rows fits
    return best


class DojoPartition(ModelledDevice):
    def __init__(self, tiles: int, precision: str, hw: HardwareSpecs, params: CostParams) -> None:
        if tiles > hw.pod.tiles_per_exapod:
            raise ValueError(
                f"a partition holds at most {hw.pod.tiles_per_exapod} tiles "
                f"(one ExaPOD); asked for {tiles}"
            )
        super().__init__(dojo_target(tiles, hw, params), precision)
        self._hw = hw
        self._params = params
        #: tiles per tray, whole trays first; each tray's tiles form a compact sub-mesh
        self.trays: tuple[int, ...] = tuple(tray_split(tiles, hw.tray.tiles))
        self.shapes = tuple(tray_shape(n, hw.tray.rows, hw.tray.cols) for n in self.trays)

    def allreduce_seconds(self, grad_bytes: float) -> float:
        return dojo_allreduce_seconds(grad_bytes, self.count, self._hw, self._params)
