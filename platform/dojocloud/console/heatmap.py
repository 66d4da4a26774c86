"""The fleet as a heat map for operators: every Dojo tile by cabinet and every GPU node as one
cell, coloured by state, by tenant, or by "allocated but idle" (a placed job whose process
shows no recent heartbeat: held hardware that computes nothing), with a per-tenant usage
table beside it. Built from the device rows the overview already read plus two grouped
queries, so its cost does not grow in queries with the fleet (a whole ExaPOD and a thousand
GPU nodes render as one page)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from dojocloud.billing.facade import UsageRecord
from dojocloud.jobs.facade import Job, lifecycle
from dojocloud.scheduling import facade as scheduling
from dojocloud.scheduling.facade import DeviceKind

MODES = ("state", "tenant", "idle")
PALETTE = 10  # tenant colours t0..t9 in portal.css; more tenants share them
USAGE_WINDOW = timedelta(hours=24)
WAITING = (lifecycle.QUEUED, lifecycle.PREEMPTED)


@dataclass
class Cell:
    """One tile, or one GPU node (its GPUs together)."""

    id: str
    total: int = 0
    busy: int = 0
    draining: int = 0
    failed: int = 0
    idle: int = 0  # devices held by a job that is not computing
    tenants: set[str] = field(default_factory=set)
    jobs: set[str] = field(default_factory=set)
    css: str = ""  # the class for the chosen mode
    title: str = ""
    tray_start: bool = False  # a tile that starts a tray (a gap above it in the cabinet)


@dataclass
class Group:
    title: str
    cells: list[Cell]
    cols: int = 0  # tiles per tray row (cabinets); 0 for GPU pools (the grid wraps)


@dataclass(frozen=True)
class TenantUsage:
    tenant: str
    css: str  # its colour on the map
    tiles: int
    gpus: int
    idle_devices: int
    placed_jobs: int
    queued_jobs: int
    allocated_seconds_24h: float


@dataclass(frozen=True)
class HeatMap:
    mode: str
    cabinets: list[Group]
    pools: list[Group]
    tenants: list[TenantUsage]
    legend: list[tuple[str, str]]  # (css class, label)
    cells: int


def idle_jobs(now: datetime | None = None) -> set[str]:
    """Placed jobs with no sign of computing for two heartbeat intervals: no worker has
    claimed them since dispatch, or their worker's heartbeat stopped."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=2 * float(settings.HEARTBEAT_INTERVAL_S))
    out: set[str] = set()
    rows = Job.objects.filter(state__in=lifecycle.PLACED_STATES).values_list(
        "id", "heartbeat_at", "dispatched_at"
    )
    for job_id, beat, dispatched in rows:
        last = beat or dispatched
        if last is None or last < cutoff:
            out.add(job_id)
    return out


def _add(cell: Cell, row: scheduling.DeviceRow, idle: set[str]) -> None:
    cell.total += 1
    if row.state == "failed":
        cell.failed += 1
    elif row.state == "draining":
        cell.draining += 1
    if row.holder is not None:
        cell.busy += 1
        cell.tenants.add(row.holder.tenant)
        cell.jobs.add(row.holder.job_name)
        if row.holder.job_id in idle:
            cell.idle += 1


def _state_css(c: Cell) -> str:
    if c.failed:
        return "failed"
    if c.draining:
        return "draining"
    if not c.busy:
        return "free"
    return "full" if c.busy == c.total else "part"


def _css(c: Cell, mode: str, colours: dict[str, str]) -> str:
    if mode == "tenant":
        if not c.tenants:
            return "free" if not (c.failed or c.draining) else _state_css(c)
        return colours[next(iter(c.tenants))] if len(c.tenants) == 1 else "multi"
    if mode == "idle":
        if c.idle:
            return "idle"
        return "computing" if c.busy else _state_css(c)
    return _state_css(c)


def _title(c: Cell) -> str:
    parts = [f"{c.id}: {c.busy}/{c.total} allocated"]
    if c.failed or c.draining:
        parts.append(f"{c.failed} failed, {c.draining} draining")
    if c.tenants:
        parts.append(", ".join(sorted(c.tenants)) + " · " + ", ".join(sorted(c.jobs)))
    if c.idle:
        parts.append(f"{c.idle} allocated but idle")
    return " · ".join(parts)


def _cells(rows: list[scheduling.DeviceRow], idle: set[str]) -> tuple[list[Group], list[Group]]:
    cabinets: dict[tuple[str, int, int], Group] = {}
    pools: dict[str, Group] = {}
    nodes: dict[tuple[str, str], Cell] = {}
    for row in rows:
        d = row.device
        if d.kind == DeviceKind.TILE:
            cab = cabinets.setdefault(
                (d.pool, d.exapod, d.cabinet),
                Group(f"{d.pool} · exapod {d.exapod} · cabinet {d.cabinet}", []),
            )
            cab.cols = max(cab.cols, d.col + 1)
            tile = Cell(d.id, tray_start=d.tray > 0 and d.row == 0)
            _add(tile, row, idle)
            cab.cells.append(tile)
            continue
        node = nodes.get((d.pool, d.node))
        if node is None:
            node = nodes[(d.pool, d.node)] = Cell(f"{d.pool}/{d.node}")
            pools.setdefault(d.pool, Group(d.pool, [])).cells.append(node)
        _add(node, row, idle)
    # The rows come sorted by tray, row and column: each cabinet's cells are row-major.
    return list(cabinets.values()), [pools[p] for p in sorted(pools)]


def _tenant_table(
    rows: list[scheduling.DeviceRow], idle: set[str], colours: dict[str, str]
) -> list[TenantUsage]:
    held: dict[str, Counter[str]] = defaultdict(Counter)
    placed: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        h = row.holder
        if h is None:
            continue
        held[h.tenant]["tiles" if row.device.kind == DeviceKind.TILE else "gpus"] += 1
        held[h.tenant]["idle"] += h.job_id in idle
        placed[h.tenant].add(h.job_id)
    queued = dict(
        Job.objects.filter(state__in=WAITING)
        .values_list("organization__slug")
        .annotate(n=Count("id"))
        .values_list("organization__slug", "n")
    )
    since = timezone.now() - USAGE_WINDOW
    used = dict(
        UsageRecord.objects.filter(recorded_at__gte=since)
        .values_list("organization__slug")
        .annotate(s=Sum("allocated_seconds"))
        .values_list("organization__slug", "s")
    )
    tenants = sorted(set(held) | set(queued) | set(used))
    return [
        TenantUsage(
            t,
            colours.get(t, ""),
            held[t]["tiles"],
            held[t]["gpus"],
            held[t]["idle"],
            len(placed[t]),
            int(queued.get(t, 0)),
            float(used.get(t) or 0.0),
        )
        for t in tenants
    ]


LEGENDS = {
    "state": [
        ("free", "free"),
        ("part", "partly allocated"),
        ("full", "allocated"),
        ("draining", "draining"),
        ("failed", "failed"),
    ],
    "idle": [
        ("free", "free"),
        ("computing", "allocated, computing"),
        ("idle", "allocated but idle"),
        ("draining", "draining"),
        ("failed", "failed"),
    ],
}


def heat_map(rows: list[scheduling.DeviceRow], mode: str = "state") -> HeatMap:
    mode = mode if mode in MODES else "state"
    idle = idle_jobs()
    holders = sorted({r.holder.tenant for r in rows if r.holder is not None})
    colours = {t: f"t{i % PALETTE}" for i, t in enumerate(holders)}
    cabinets, pools = _cells(rows, idle)
    for group in (*cabinets, *pools):
        for cell in group.cells:
            cell.css = _css(cell, mode, colours)
            cell.title = _title(cell)
    legend = LEGENDS.get(mode) or [
        ("free", "free"),
        *[(css, tenant) for tenant, css in colours.items()],
        ("multi", "several tenants"),
    ]
    return HeatMap(
        mode=mode,
        cabinets=cabinets,
        pools=pools,
        tenants=_tenant_table(rows, idle, colours),
        legend=legend,
        cells=sum(len(g.cells) for g in (*cabinets, *pools)),
    )
