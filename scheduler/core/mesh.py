"""Dojo tile placement: compact sub-meshes in a tray, whole trays of a cabinet, whole cabinets.

A tray is a 2x3 mesh; its tiles are the bits of an int (bit = row * 3 + col). Tables built
once at import give, for every free mask and size, the best sub-mesh: the most compact
connected shape (smallest bounding box), then the one leaving the largest free rectangle.
Among trays (and cabinets) the tightest fit wins, so empty trays and cabinets stay whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scheduler.core.model import TRAY_COLS, TRAY_ROWS, DeviceState, Tile

TRAY_TILES = TRAY_ROWS * TRAY_COLS
FULL_TRAY = (1 << TRAY_TILES) - 1


def _cells(mask: int) -> list[tuple[int, int]]:
    return [divmod(b, TRAY_COLS) for b in range(TRAY_TILES) if mask >> b & 1]


def _connected(mask: int) -> bool:
    cells = set(_cells(mask))
    if not cells:
        return False
    seen = {next(iter(cells))}
    stack = list(seen)
    while stack:
        r, c = stack.pop()
        for n in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if n in cells and n not in seen:
                seen.add(n)
                stack.append(n)
    return seen == cells


def _bbox_area(mask: int) -> int:
    cells = _cells(mask)
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    return (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1)


def _largest_rect(mask: int) -> int:
    best = 0
    for r0 in range(TRAY_ROWS):
        for r1 in range(r0, TRAY_ROWS):
            for c0 in range(TRAY_COLS):
                for c1 in range(c0, TRAY_COLS):
                    rect = 0
                    for r in range(r0, r1 + 1):
                        for c in range(c0, c1 + 1):
                            rect |= 1 << (r * TRAY_COLS + c)
                    if mask & rect == rect:
                        best = max(best, rect.bit_count())
    return best


def _build_tables() -> tuple[list[list[int]], list[list[tuple[int, int]]]]:
    """best[free][k] -> placement mask (0: none) and its score (lower is better)."""
    shapes = [m for m in range(1, FULL_TRAY + 1) if _connected(m)]
    best = [[0] * (TRAY_TILES + 1) for _ in range(FULL_TRAY + 1)]
    score = [[(99, 99)] * (TRAY_TILES + 1) for _ in range(FULL_TRAY + 1)]
    for free in range(FULL_TRAY + 1):
        for m in shapes:
            if free & m != m:
                continue
            k = m.bit_count()
            s = (_bbox_area(m), -_largest_rect(free & ~m))
            if s < score[free][k]:
                best[free][k], score[free][k] = m, s
    return best, score


BEST, SCORE = _build_tables()


@dataclass(slots=True)
class Tray:
    cabinet: int  # index into DojoPool.cabinets
    cells: list[str | None]  # tile id per bit, None where no tile exists
    usable: int = 0  # bits of tiles that may take new work
    free: int = 0  # usable and not allocated


@dataclass(slots=True)
class DojoPool:
    """Free-tile index of one Dojo pool. Mutated by take/give; placement never mutates."""

    name: str
    trays: list[Tray] = field(default_factory=list)
    cabinets: list[list[int]] = field(default_factory=list)  # cabinet -> tray indices
    loc: dict[str, tuple[int, int]] = field(default_factory=dict)  # tile id -> (tray, bit)
    kind: str = "dojo"
    usable_count: int = 0  # tiles in service (fixed for a Capacity)

    @property
    def free_count(self) -> int:
        return sum(t.free.bit_count() for t in self.trays)

    @property
    def total_count(self) -> int:
        return len(self.loc)

    def take(self, devices: tuple[str, ...]) -> None:
        for d in devices:
            ti, bit = self.loc[d]
            self.trays[ti].free &= ~(1 << bit)

    def give(self, devices: tuple[str, ...]) -> None:
        for d in devices:
            ti, bit = self.loc[d]
            tray = self.trays[ti]
            tray.free |= (1 << bit) & tray.usable

    def largest_block(self) -> int:
        """Tiles in the largest free compact region (for pending reasons)."""
        best = 0
        for cab in self.cabinets:
            full = [ti for ti in cab if self.trays[ti].free == FULL_TRAY]
            if len(full) == len(cab) and len(cab) > 1:
                best = max(best, TRAY_TILES * len(cab))
            for ti in cab:
                free = self.trays[ti].free
                for k in range(TRAY_TILES, best, -1):
                    if BEST[free][k]:
                        best = k
                        break
        return best

    def place(self, count: int, blocked: Mapping[int, int] | None = None) -> tuple[str, ...] | None:
        """Tile ids for a `count`-tile job, or None. `blocked`: tray -> bits not to use."""
        free = (
            [t.free & ~blocked.get(i, 0) for i, t in enumerate(self.trays)]
            if blocked
            else [t.free for t in self.trays]
        )
        if count <= TRAY_TILES:
            picks = self._in_tray(count, free, range(len(self.trays)))
        elif count <= TRAY_TILES * 2:
            picks = self._in_cabinet(count, free)
        else:
            picks = self._cabinets(count, free)
        if picks is None:
            return None
        return tuple(
            self.trays[ti].cells[b] or ""
            for ti, mask in picks
            for b in range(TRAY_TILES)
            if mask >> b & 1
        )

    def _cab_free(self, cab: int, free: list[int]) -> int:
        return sum(free[ti].bit_count() for ti in self.cabinets[cab])

    def _in_tray(
        self, k: int, free: list[int], trays: range | list[int]
    ) -> list[tuple[int, int]] | None:
        best: tuple[int, int, tuple[int, int], int] | None = None
        for ti in trays:
            f = free[ti]
            if f.bit_count() < k or not BEST[f][k]:
                continue
            key = (f.bit_count(), self._cab_free(self.trays[ti].cabinet, free), SCORE[f][k], ti)
            if best is None or key < best:
                best = key
        if best is None:
            return None
        ti = best[3]
        return [(ti, BEST[free[ti]][k])]

    def _in_cabinet(
        self, k: int, free: list[int], skip: frozenset[int] = frozenset()
    ) -> list[tuple[int, int]] | None:
        """k in 7..12: one whole tray plus a compact remainder in the other tray of its cabinet."""
        best: tuple[int, int] | None = None
        picks: list[tuple[int, int]] | None = None
        for ci, cab in enumerate(self.cabinets):
            if ci in skip or len(cab) < 2:
                continue
            for whole in cab:
                if free[whole] != FULL_TRAY:
                    continue
                rest = self._in_tray(k - TRAY_TILES, free, [ti for ti in cab if ti != whole])
                if rest is None:
                    continue
                key = (self._cab_free(ci, free), ci)
                if best is None or key < best:
                    best, picks = key, [(whole, FULL_TRAY), *rest]
                break
        return picks

    def _cabinets(self, k: int, free: list[int]) -> list[tuple[int, int]] | None:
        """k > 12: whole free cabinets (a consecutive run if there is one) plus a remainder."""
        per_cab = TRAY_TILES * 2
        whole = [
            ci
            for ci, cab in enumerate(self.cabinets)
            if len(cab) == 2 and all(free[ti] == FULL_TRAY for ti in cab)
        ]
        need, rem = divmod(k, per_cab)
        if len(whole) < need:
            return None
        chosen = _consecutive_run(whole, need) or whole[:need]
        picks = [(ti, FULL_TRAY) for ci in chosen for ti in self.cabinets[ci]]
        if rem == 0:
            return picks
        taken = frozenset(chosen)
        if rem <= TRAY_TILES:
            trays = [ti for ci, cab in enumerate(self.cabinets) if ci not in taken for ti in cab]
            rest = self._in_tray(rem, free, trays)
        else:
            rest = self._in_cabinet(rem, free, taken)
        return None if rest is None else picks + rest


def _consecutive_run(indices: list[int], need: int) -> list[int] | None:
    """The shortest run of consecutive indices that holds `need` (best fit), or None."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    fitting = [r for r in runs if len(r) >= need]
    if not fitting:
        return None
    return min(fitting, key=len)[:need]


def build_dojo_pool(name: str, tiles: list[Tile]) -> DojoPool:
    """Static layout of one pool's tiles; every usable tile starts free."""
    pool = DojoPool(name)
    tray_index: dict[tuple[int, int, int], int] = {}
    cab_index: dict[tuple[int, int], int] = {}
    for t in sorted(tiles, key=lambda t: (t.exapod, t.cabinet, t.tray, t.row, t.col)):
        ck = (t.exapod, t.cabinet)
        if ck not in cab_index:
            cab_index[ck] = len(pool.cabinets)
            pool.cabinets.append([])
        tk = (t.exapod, t.cabinet, t.tray)
        if tk not in tray_index:
            tray_index[tk] = len(pool.trays)
            pool.trays.append(Tray(cab_index[ck], [None] * TRAY_TILES))
            pool.cabinets[cab_index[ck]].append(tray_index[tk])
        ti = tray_index[tk]
        bit = t.row * TRAY_COLS + t.col
        pool.trays[ti].cells[bit] = t.id
        pool.loc[t.id] = (ti, bit)
        if t.state is DeviceState.FREE:
            pool.trays[ti].usable |= 1 << bit
    for tray in pool.trays:
        tray.free = tray.usable
        pool.usable_count += tray.usable.bit_count()
    return pool


def fresh_dojo_pool(static: DojoPool) -> DojoPool:
    """A copy with every usable tile free, sharing the immutable layout."""
    trays = [Tray(t.cabinet, t.cells, t.usable, t.usable) for t in static.trays]
    return DojoPool(
        static.name, trays, static.cabinets, static.loc, usable_count=static.usable_count
    )
