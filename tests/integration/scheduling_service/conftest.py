"""A real API gRPC server (port 0) and three callers: an operator (owner of the operator
organization), an operator-org viewer, and a customer (owner of acme)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from django.contrib.auth.models import User
from sched_svc_grpc_support import Callers, Stub

from dojo.v1 import scheduler_pb2_grpc
from dojocloud.api.grpc_app import build_api_server
from dojocloud.common.inventory import inventory
from dojocloud.scheduling import capacity
from dojocloud.tenancy.models import Role
from dojocloud.tenancy.services import (
    add_member,
    create_api_key,
    create_organization,
    principal_for_user,
)
from tests.support.grpc_server import serving


@pytest.fixture
def callers(transactional_db: None) -> Callers:
    olga, vic, alice = (User.objects.create_user(n) for n in ("olga", "vic", "alice"))
    ops = create_organization("operators", "Operators", olga)
    add_member(ops, vic, Role.VIEWER)
    create_organization("acme", "Acme", alice)
    capacity.sync_inventory(inventory())
    return Callers(
        operator=create_api_key(principal_for_user(olga, "operators"), name="ops")[1],
        operator_viewer=create_api_key(principal_for_user(vic, "operators"), name="ro")[1],
        customer=create_api_key(principal_for_user(alice, "acme"), name="ci")[1],
        acme=principal_for_user(alice, "acme"),
    )


@pytest.fixture
def stub_for(callers: Callers) -> Iterator[Callable[[str], Stub]]:
    with (
        serving(build_api_server("127.0.0.1:0", max_workers=4), 1.0) as address,
        grpc.insecure_channel(address) as channel,
    ):
        yield lambda key: Stub(scheduler_pb2_grpc.SchedulerServiceStub(channel), key)
