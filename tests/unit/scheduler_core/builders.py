"""Small builders for scheduler-core tests."""

from __future__ import annotations

from scheduler.core.model import (
    TRAY_COLS,
    TRAY_ROWS,
    Capacity,
    GpuNode,
    JobRequest,
    Placement,
    RunningJob,
    Tile,
)
from scheduler.inventory import hardware_figures

# The packaged specs' throughput and price per accelerator type, as producers fill them.
FIGURES = hardware_figures()


def cluster(
    cabinets: int = 1, trays: int = 2, gpu_nodes: int = 0, pool: str = "gpu-a100"
) -> Capacity:
    tiles = tuple(
        Tile("dojo", 0, c, t, r, col)
        for c in range(cabinets)
        for t in range(trays)
        for r in range(TRAY_ROWS)
        for col in range(TRAY_COLS)
    )
    nodes = tuple(GpuNode(pool, f"n{i}") for i in range(gpu_nodes))
    return Capacity(tiles, nodes, FIGURES)


def job(
    jid: str,
    count: int = 1,
    accel: str = "dojo-tile",
    tenant: str = "a",
    t: float = 0.0,
    priority: int = 0,
    dur: float | None = None,
    accels: tuple[str, ...] = (),
) -> JobRequest:
    return JobRequest(jid, tenant, accels or (accel,), count, t, priority, est_duration_s=dur)


def running(
    jid: str,
    devices: tuple[str, ...],
    pool: str = "dojo",
    tenant: str = "a",
    priority: int = 0,
    start: float = 0.0,
    ckpt: float | None = None,
    end: float | None = None,
    accel: str = "dojo-tile",
) -> RunningJob:
    return RunningJob(
        jid,
        tenant,
        Placement(pool, accel, devices),
        start,
        priority,
        last_checkpoint_time=ckpt,
        est_end_time=end,
    )


def tile(c: int, t: int, r: int, col: int) -> str:
    return f"dojo/e0/c{c}/t{t}/r{r}c{col}"


def tile_or_h100s(name: str, h100s: int, seconds: float = 10.0) -> JobRequest:
    """A job that runs in `seconds` on one tile or on `h100s` H100s: equal estimates, so
    the price decides between them."""
    return JobRequest(
        name,
        "a",
        ("dojo-tile", "gpu-h100"),
        1,
        0.0,
        est_durations={"dojo-tile": seconds, "gpu-h100": seconds},
        counts={"gpu-h100": h100s},
    )
