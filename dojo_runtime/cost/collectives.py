"""Data-parallel gradient all-reduce over an allocation, as ring algorithms on its links.

A ring all-reduce of S bytes over p members sends 2(p-1)/p x S bytes over each member's
outgoing link in 2(p-1) steps:  t = 2(p-1)/p x S / B + 2(p-1) x latency.

Dojo: the tiles of a tray form a compact sub-mesh that has a Hamiltonian path, so a ring runs
over tile edges (a ring laid over a path uses each edge once each way). Partitions larger than
a tray are hierarchical: a ring inside each tray over tile edges, then a ring across trays over
the Z-plane (the DIPs' TTPoE Ethernet ports), each tray using its tiles' share of the DIPs.
GPU: a ring over NVLink inside a node; across nodes, a ring over the nodes' network.
"""

from __future__ import annotations

import math

from dojo_runtime.specs import CostParams, HardwareSpecs


def ring_allreduce_seconds(
    nbytes: float, members: int, bytes_per_s: float, latency_s: float
) -> float:
    if members <= 1 or nbytes <= 0:
        return 0.0
    steps = 2 * (members - 1)
    return steps / members * nbytes / bytes_per_s + steps * latency_s


def tray_split(tiles: int, tiles_per_tray: int) -> list[int]:
    """Tiles of a partition per tray: whole trays first (compact), the remainder last."""
    if tiles < 1:
        raise ValueError("a partition needs at least one tile")
    full, rest = divmod(tiles, tiles_per_tray)
    return [tiles_per_tray] * full + ([rest] if rest else [])


def _per_way(link_bytes_per_s: float, params: CostParams) -> float:
    return link_bytes_per_s / 2 if params.links_are_bidirectional else link_bytes_per_s


def dojo_allreduce_seconds(
    nbytes: float, tiles: int, hw: HardwareSpecs, params: CostParams
) -> float:
    eff = params.efficiency("dojo").network
    trays = tray_split(tiles, hw.tray.tiles)
    edge = _per_way(hw.tile.offtile_bandwidth_per_edge_bytes_per_s, params) * eff
    # The largest tray's ring is the slowest; the trays run theirs in parallel.
    seconds = ring_allreduce_seconds(nbytes, max(trays), edge, hw.latencies.tile_edge_hop_s)
    if len(trays) > 1:
        dips_per_tile = hw.tray.dips / hw.tray.tiles
        # Ethernet figures are per direction (full duplex); the smallest tray is the bottleneck.
        zplane = min(trays) * dips_per_tile * hw.dip.ttpoe_ethernet_bandwidth_bytes_per_s * eff
        seconds += ring_allreduce_seconds(nbytes, len(trays), zplane, hw.latencies.ttpoe_s)
    return seconds


def gpu_allreduce_seconds(
    nbytes: float, accelerator: str, gpus: int, hw: HardwareSpecs, params: CostParams
) -> float:
    g = hw.gpu(accelerator)
    eff = params.efficiency("gpu").network
    in_node = min(gpus, g.gpus_per_node)
    nvlink = _per_way(g.nvlink_bandwidth_bytes_per_s, params) * eff
    seconds = ring_allreduce_seconds(nbytes, in_node, nvlink, hw.latencies.nvlink_s)
    nodes = math.ceil(gpus / g.gpus_per_node)
    if nodes > 1:
        net = g.node_network_bytes_per_s * eff
        seconds += ring_allreduce_seconds(nbytes, nodes, net, hw.latencies.gpu_network_s)
    return seconds
