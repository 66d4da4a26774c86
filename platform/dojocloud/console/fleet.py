"""A read-only snapshot of the fleet for operators: every tile and GPU with its state and the
job and tenant on it, and queue depth per pool. Operators see all tenants, so nothing here is
organization-scoped; only staff views call it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, Value, When

from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Job
from dojocloud.scheduling.models import Allocation, Device, DeviceKind, DeviceStatus

WAITING_STATES = (lifecycle.QUEUED, lifecycle.PREEMPTED)
QUEUE_PREVIEW = 20


@dataclass(frozen=True)
class Holder:
    job_id: str
    job_name: str
    tenant: str


@dataclass(frozen=True)
class DeviceView:
    id: str
    state: str                  # "free" | "busy" | "draining" | "failed"
    holder: Holder | None


@dataclass
class TrayView:
    title: str
    cols: int
    tiles: list[DeviceView] = field(default_factory=list)   # row-major


@dataclass
class NodeView:
    pool: str
    name: str
    gpus: list[DeviceView] = field(default_factory=list)


@dataclass(frozen=True)
class PoolStats:
    pool: str
    accelerator: str
    total: int
    busy: int
    free: int
    unavailable: int            # draining or failed
    queued: int                 # waiting jobs whose first choice is this pool's accelerator


@dataclass(frozen=True)
class FleetSnapshot:
    trays: list[TrayView]
    nodes: list[NodeView]
    pools: list[PoolStats]
    queue: list[Job]            # the first waiting jobs, by queue position
    waiting: int
    running: int


def _holders() -> dict[str, Holder]:
    rows = (Allocation.objects.filter(released_at__isnull=True)
            .values_list("device_id", "job_id", "job__name", "job__organization__slug"))
    return {dev: Holder(job, name, org) for dev, job, name, org in rows}


def _state(device: Device, holder: Holder | None) -> str:
    if device.status == DeviceStatus.FAILED:
        return "failed"
    if device.status == DeviceStatus.DRAINING:
        return "draining"
    return "busy" if holder is not None else "free"


def _first_accelerator(spec: object) -> str:
    accels = spec.get("resources", {}).get("accelerators", []) if isinstance(spec, dict) else []
    return str(accels[0]) if accels else "dojo-tile"


def _group(devices: list[DeviceView], rows: list[Device]) -> tuple[list[TrayView],
                                                                    list[NodeView]]:
    trays: dict[tuple[int, int, int], TrayView] = {}
    nodes: dict[tuple[str, str], NodeView] = {}
    for view, dev in sorted(zip(devices, rows, strict=True),
                            key=lambda p: (p[1].exapod, p[1].cabinet, p[1].tray, p[1].row,
                                           p[1].col, p[1].pool, p[1].node, p[1].index)):
        if dev.kind == DeviceKind.TILE:
            key = (dev.exapod, dev.cabinet, dev.tray)
            tray = trays.setdefault(key, TrayView(
                f"{dev.pool} · exapod {dev.exapod} · cabinet {dev.cabinet} · tray {dev.tray}",
                cols=0))
            tray.cols = max(tray.cols, dev.col + 1)
            tray.tiles.append(view)
        else:
            nodes.setdefault((dev.pool, dev.node), NodeView(dev.pool, dev.node)).gpus.append(view)
    return list(trays.values()), list(nodes.values())


def _pool_stats(views: list[DeviceView], rows: list[Device],
                queued: Counter[str]) -> list[PoolStats]:
    per_pool: dict[str, Counter[str]] = defaultdict(Counter)
    accel: dict[str, str] = {}
    for view, dev in zip(views, rows, strict=True):
        per_pool[dev.pool][view.state] += 1
        accel[dev.pool] = dev.accelerator
    return [PoolStats(pool, accel[pool], sum(c.values()), c["busy"], c["free"],
                      c["draining"] + c["failed"], queued[accel[pool]])
            for pool, c in sorted(per_pool.items())]


def fleet_snapshot() -> FleetSnapshot:
    holders = _holders()
    rows = list(Device.objects.filter(in_inventory=True))
    views = [DeviceView(d.id, _state(d, holders.get(d.id)), holders.get(d.id)) for d in rows]
    trays, nodes = _group(views, rows)
    waiting = Job.objects.filter(state__in=WAITING_STATES)
    queued = Counter(_first_accelerator(s) for s in waiting.values_list("spec", flat=True))
    # Position 0 means "not ranked yet": those go after the ranked ones.
    unranked = Case(When(queue_position=0, then=Value(1)), default=Value(0))
    queue = list(waiting.select_related("organization")
                 .order_by(unranked, "queue_position", "created_at")[:QUEUE_PREVIEW])
    return FleetSnapshot(
        trays=trays, nodes=nodes, pools=_pool_stats(views, rows, queued), queue=queue,
        waiting=sum(queued.values()),
        running=Job.objects.filter(state__in=lifecycle.PLACED_STATES).count())
