"""The fleet overview for operators, shaped for its template: tiles grouped into trays, GPUs
into nodes, per-pool totals and the head of the queue. The device and queue read models are
scheduling's (through its facade); this module only arranges them. Operators see all tenants, so
nothing here is organization-scoped; only staff views call it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from dojocloud.console.heatmap import HeatMap, heat_map
from dojocloud.jobs.facade import Job, lifecycle
from dojocloud.scheduling import facade as scheduling
from dojocloud.scheduling.facade import DeviceKind

QUEUE_PREVIEW = 20
# Above this many devices the per-device cards give way to the heat map alone (a whole
# ExaPOD and a thousand GPU nodes are ~8,000 devices: cards would be a page of megabytes).
DETAIL_LIMIT = 256


@dataclass
class TrayView:
    title: str
    cols: int
    tiles: list[scheduling.DeviceRow] = field(default_factory=list)  # row-major


@dataclass
class NodeView:
    pool: str
    name: str
    rack: str = ""
    gpus: list[scheduling.DeviceRow] = field(default_factory=list)


@dataclass(frozen=True)
class PoolStats:
    pool: str
    accelerator: str
    total: int
    busy: int  # held and in service (a held draining device counts as out)
    free: int
    unavailable: int  # draining or failed
    queued: int  # waiting jobs whose first choice is this pool's accelerator


@dataclass(frozen=True)
class FleetSnapshot:
    trays: list[TrayView]
    nodes: list[NodeView]
    pools: list[PoolStats]
    queue: list[scheduling.QueueRow]  # the first waiting jobs, by queue position
    waiting: int
    running: int
    heat: HeatMap
    devices: int
    detailed: bool  # per-device cards shown (small fleets)


def _layout_key(row: scheduling.DeviceRow) -> tuple[int, int, int, int, int, str, str, int]:
    d = row.device
    return (d.exapod, d.cabinet, d.tray, d.row, d.col, d.pool, d.node, d.index)


def _group(rows: list[scheduling.DeviceRow]) -> tuple[list[TrayView], list[NodeView]]:
    trays: dict[tuple[int, int, int], TrayView] = {}
    nodes: dict[tuple[str, str], NodeView] = {}
    for row in sorted(rows, key=_layout_key):
        dev = row.device
        if dev.kind == DeviceKind.TILE:
            tray = trays.setdefault(
                (dev.exapod, dev.cabinet, dev.tray),
                TrayView(
                    f"{dev.pool} · exapod {dev.exapod} · cabinet {dev.cabinet} · tray {dev.tray}",
                    cols=0,
                ),
            )
            tray.cols = max(tray.cols, dev.col + 1)
            tray.tiles.append(row)
        else:
            nodes.setdefault(
                (dev.pool, dev.node), NodeView(dev.pool, dev.node, dev.rack)
            ).gpus.append(row)
    return list(trays.values()), list(nodes.values())


def _pool_stats(rows: list[scheduling.DeviceRow], queued: Counter[str]) -> list[PoolStats]:
    per_pool: dict[str, Counter[str]] = defaultdict(Counter)
    accel: dict[str, str] = {}
    for row in rows:
        per_pool[row.device.pool][row.state] += 1
        accel[row.device.pool] = row.device.accelerator
    return [
        PoolStats(
            pool,
            accel[pool],
            sum(c.values()),
            c["busy"],
            c["free"],
            c["draining"] + c["failed"],
            queued[pool],
        )
        for pool, c in sorted(per_pool.items())
    ]


def fleet_snapshot(mode: str = "state") -> FleetSnapshot:
    rows = scheduling.devices()
    detailed = len(rows) <= DETAIL_LIMIT
    trays, nodes = _group(rows) if detailed else ([], [])
    queued = scheduling.queued_per_pool()
    return FleetSnapshot(
        trays=trays,
        nodes=nodes,
        pools=_pool_stats(rows, queued),
        queue=scheduling.queue(limit=QUEUE_PREVIEW),
        waiting=sum(queued.values()),
        running=Job.objects.filter(state__in=lifecycle.PLACED_STATES).count(),
        heat=heat_map(rows, mode),
        devices=len(rows),
        detailed=detailed,
    )
