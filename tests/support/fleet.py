"""A large fleet in the database for the console's heat map: deploy/clusters/exapod.yaml (one
ExaPOD of 120 tiles in 10 cabinets, 96 GPU nodes) plus 1,000 GPU nodes of pool gpu-v100, with
three tenants' jobs holding about half of it: some computing (a fresh heartbeat), some
allocated but idle (no heartbeat for minutes). Used by the heat map's tests and by
benchmarks/bench_console.py."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.utils import timezone

from dojo.specfile import parse_yaml
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Allocation, Device
from dojocloud.tenancy import services as tenancy
from scheduler.core import GpuNode
from scheduler.inventory import load_inventory

EXAPOD = Path(__file__).resolve().parents[2] / "deploy" / "clusters" / "exapod.yaml"
EXTRA_NODES = 1000
TENANTS = ("acme", "globex", "initech")
SPEC = """
name: big
model: {architecture: mlp, params: {hidden: 8, layers: 1}}
dataset: {name: digits}
training: {steps: 6, batch_size: 8, optimizer: adam, learning_rate: 0.01, precision: fp32,
           checkpoint_interval: 2, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
"""


@dataclass
class BigFleet:
    devices: int
    gpu_nodes: int
    tiles: int
    held: dict[str, int] = field(default_factory=dict)  # tenant -> devices held
    idle_jobs: set[str] = field(default_factory=set)
    computing_jobs: set[str] = field(default_factory=set)


def build(jobs_per_tenant: int = 20, nodes_per_job: int = 8) -> BigFleet:
    """Syncs the big inventory and places each tenant's jobs on whole GPU nodes of gpu-v100
    (and one tile each); every other job of a tenant is idle."""
    cap = load_inventory(str(EXAPOD))
    extra = tuple(GpuNode("gpu-v100", f"n{i}") for i in range(EXTRA_NODES))
    cap = replace(cap, gpu_nodes=cap.gpu_nodes + extra)
    count = capacity.sync_inventory(cap)
    spec = parse_yaml(SPEC)
    now = timezone.now()
    fleet = BigFleet(count, len(cap.gpu_nodes), len(cap.tiles))
    node = 0
    allocations: list[Allocation] = []
    tiles = iter(t.id for t in cap.tiles)
    for tenant in TENANTS:
        owner = User.objects.create_user(f"{tenant}-owner")
        tenancy.create_organization(tenant, tenant.title(), owner)
        principal = tenancy.principal_for_user(owner, tenant)
        for j in range(jobs_per_tenant):
            spec.name = f"{tenant}-{j}"
            job = jobs.create_job(principal, spec)
            idle = j % 2 == 1
            beat = now - timedelta(minutes=10) if idle else now
            Job.objects.filter(id=job.id).update(
                state="RUNNING", started_at=now, heartbeat_at=beat, dispatched_at=beat
            )
            (fleet.idle_jobs if idle else fleet.computing_jobs).add(job.id)
            devices = [next(tiles)] + [
                f"gpu-v100/n{node + k}/g{g}" for k in range(nodes_per_job) for g in range(8)
            ]
            node += nodes_per_job
            allocations += [Allocation(device_id=d, job_id=job.id, attempt=1) for d in devices]
            fleet.held[tenant] = fleet.held.get(tenant, 0) + len(devices)
    Allocation.objects.bulk_create(allocations, batch_size=500)
    Device.objects.filter(id__startswith="gpu-v100/n999/").update(status="failed")
    return fleet
