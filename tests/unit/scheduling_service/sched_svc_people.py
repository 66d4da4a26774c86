"""Builders for the scheduler-service tests: two tenants (acme, globex, tests/support/people.py),
synced dev inventory, jobs placed directly through the DatabaseStore (as the loop would)."""

from __future__ import annotations

from dataclasses import dataclass

from dojo.v1 import job_pb2
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling.store import DatabaseStore
from dojocloud.tenancy.services import Principal
from tests.support.people import admit, make_spec, two_tenants


@dataclass
class Fleet:
    acme: Principal
    globex: Principal
    store: DatabaseStore


def spec(name: str, count: int = 1, accelerator: str = "dojo-tile") -> job_pb2.JobSpec:
    return make_spec(name, count=count, accelerator=accelerator)


def make_fleet() -> Fleet:
    acme, globex = two_tenants()
    return Fleet(acme, globex, DatabaseStore())


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
    assert admit(job, devices, store=fleet.store, pool=pool, accelerator=accelerator) == 1
    return job
