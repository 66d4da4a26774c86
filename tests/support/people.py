"""The people and jobs every platform test builds (healthchecks style).

`make_people`: alice owns org "acme", bob is a member, vera a viewer; olga owns "other" —
the outsider. `two_tenants`: alice owns acme, bob owns globex, on the synced dev inventory.
`make_spec`: the small digits job; `admit`: a job placed onto devices as the scheduler loop's
store would place it; `step_metrics`: a training step's metrics, as a worker records them.
(The permission table's cast, with operators and key scopes, is
tests/support/roles.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone
from google.protobuf import json_format

from dojo.v1 import job_pb2
from dojo_runtime.config import StepMetrics
from dojocloud.common.inventory import inventory
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.store import DatabaseStore
from dojocloud.tenancy.models import Organization, Role
from dojocloud.tenancy.services import (
    Principal,
    add_member,
    create_organization,
    principal_for_user,
)
from scheduler.core import Admit, Decisions, Placement

# Six steps, checkpoint every two: long enough to segment, short enough for a unit test.
TRAINING: dict[str, object] = {
    "steps": 6,
    "batch_size": 8,
    "optimizer": "adam",
    "learning_rate": 0.01,
    "precision": "fp32",
    "checkpoint_interval": 2,
    "seed": 1,
}


@dataclass
class People:
    acme: Organization
    other: Organization
    owner: Principal
    member: Principal
    viewer: Principal
    outsider: Principal


def spec_data(
    name: str = "digits-mlp", *, count: int = 1, accelerator: str = "dojo-tile"
) -> dict[str, object]:
    """The digits job as the JSON a client sends."""
    return {
        "name": name,
        "model": {"architecture": "mlp", "params": {"hidden": 8, "layers": 1}},
        "dataset": {"name": "digits"},
        "training": dict(TRAINING),
        "resources": {"accelerators": [accelerator], "count": count},
    }


def make_spec(
    name: str = "digits-mlp",
    *,
    count: int = 1,
    accelerator: str = "dojo-tile",
    **overrides: object,
) -> job_pb2.JobSpec:
    """The digits job; `overrides` replace whole top-level fields (training=..., dataset=...)."""
    data = spec_data(name, count=count, accelerator=accelerator)
    data.update(overrides)
    return json_format.ParseDict(data, job_pb2.JobSpec())


def make_people() -> People:
    # Users without passwords: hashing one takes seconds on a loaded machine.
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    vera = User.objects.create_user("vera")
    olga = User.objects.create_user("olga")
    acme = create_organization("acme", "Acme", alice)
    add_member(acme, bob, Role.MEMBER)
    add_member(acme, vera, Role.VIEWER)
    other = create_organization("other", "Other", olga)
    return People(
        acme,
        other,
        principal_for_user(alice),
        principal_for_user(bob),
        principal_for_user(vera),
        principal_for_user(olga),
    )


def two_tenants() -> tuple[Principal, Principal]:
    """alice (owner of acme) and bob (owner of globex), with the dev inventory synced."""
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    create_organization("acme", "Acme", alice)
    create_organization("globex", "Globex", bob)
    capacity.sync_inventory(inventory())
    return principal_for_user(alice), principal_for_user(bob)


def admit(
    job: Job,
    devices: Sequence[str],
    *,
    at: datetime | None = None,
    store: DatabaseStore | None = None,
    pool: str = "dojo",
    accelerator: str = "dojo-tile",
    reason: str = "test placement",
) -> int:
    """Places `job` on exactly `devices` through the store (as the loop would), refreshes it,
    and returns how many jobs the store admitted (0 where the placement did not apply)."""
    placement = Placement(pool, accelerator, tuple(devices))
    applied = (store or DatabaseStore()).apply(
        Decisions(admits=(Admit(job.id, placement, reason),)),
        (at or timezone.now()).timestamp(),
    )
    job.refresh_from_db()
    return applied.admitted


def step_metrics(step: int) -> StepMetrics:
    """A step's metrics with the loss 1/step (so each point tells which step wrote it)."""
    return StepMetrics(
        step=step,
        loss=1.0 / step,
        accuracy=0.5,
        samples_per_second=10.0,
        device_seconds=0.1,
        wall_seconds=0.1,
        modelled_samples_per_second=9.0,
    )
