"""Builders for platform tests. Named people for platform tests (healthchecks style): Alice owns org "acme", Bob is a
member, Vera a viewer; Olga owns "other" — the outsider."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from google.protobuf import json_format

from dojo.v1 import job_pb2
from dojocloud.tenancy.models import Organization, Role
from dojocloud.tenancy.services import (
    Principal,
    add_member,
    create_organization,
    principal_for_user,
)


@dataclass
class People:
    acme: Organization
    other: Organization
    owner: Principal
    member: Principal
    viewer: Principal
    outsider: Principal


def make_spec(**overrides: object) -> job_pb2.JobSpec:
    data: dict[str, object] = {
        "name": "digits-mlp",
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
        "resources": {"accelerators": ["dojo-tile"], "count": 1},
    }
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
