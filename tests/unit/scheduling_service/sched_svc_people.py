"""Builders for the scheduler-service tests: two tenants (acme, globex), synced dev
inventory, jobs placed directly through the DatabaseStore (as the loop would)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone
from google.protobuf import json_format

from dojo.v1 import job_pb2
from dojocloud.common.inventory import inventory
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.store import DatabaseStore
from dojocloud.tenancy.services import Principal, create_organization, principal_for_user
from scheduler.core import Admit, Decisions, Placement


@dataclass
class Fleet:
    acme: Principal
    globex: Principal
    store: DatabaseStore


def spec(name: str, count: int = 1, accelerator: str = "dojo-tile") -> job_pb2.JobSpec:
    return json_format.ParseDict(
        {
            "name": name,
            "model": {"architecture": "mlp", "params": {"hidden": 8, "layers": 1}},
            "dataset": {"name": "digits"},
            "training": {
                "steps": 6,
                "batch_size": 8,
                "optimizer": "adam",
                "learning_rate": 0.01,
                "precision": "fp32",
                "checkpoint_interval": 2,
                "seed": 1,
            },
            "resources": {"accelerators": [accelerator], "count": count},
        },
        job_pb2.JobSpec(),
    )


def make_fleet() -> Fleet:
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    create_organization("acme", "Acme", alice)
    create_organization("globex", "Globex", bob)
    capacity.sync_inventory(inventory())
    return Fleet(principal_for_user(alice), principal_for_user(bob), DatabaseStore())


def place(
    fleet: Fleet,
    who: Principal,
    name: str,
    devices: tuple[str, ...],
    pool: str = "dojo",
    accelerator: str = "dojo-tile",
) -> Job:
    """A job admitted onto exactly these devices, as the loop's store would admit it."""
    job = jobs.create_job(who, spec(name, len(devices), accelerator))
    now = timezone.now().timestamp()
    applied = fleet.store.apply(
        Decisions(admits=(Admit(job.id, Placement(pool, accelerator, devices), "test placement"),)),
        now,
    )
    assert applied.admitted == 1
    job.refresh_from_db()
    return job
