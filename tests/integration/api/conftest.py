"""A real API gRPC server (port 0, in this process) on the pytest-django database, and a few
named callers: an owner of acme, a viewer of acme, and an owner of globex (the outsider)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from dojo.client import Client
from dojo.config import ClientConfig
from dojocloud.api.grpc_app import build_api_server
from dojocloud.tenancy.models import Role
from dojocloud.tenancy.services import (
    add_member,
    create_api_key,
    create_organization,
    principal_for_user,
)
from tests.support.grpc_server import serving


@dataclass(frozen=True)
class Keys:
    acme: str  # owner of acme
    acme_viewer: str  # viewer of acme: reads only
    globex: str  # owner of another organization


@pytest.fixture
def keys(transactional_db: None) -> Keys:
    alice = User.objects.create_user("alice")
    vera = User.objects.create_user("vera")
    bob = User.objects.create_user("bob")
    acme = create_organization("acme", "Acme", alice)
    add_member(acme, vera, Role.VIEWER)
    create_organization("globex", "Globex", bob)
    return Keys(
        acme=create_api_key(principal_for_user(alice, "acme"), name="ci")[1],
        acme_viewer=create_api_key(principal_for_user(vera, "acme"), name="ro")[1],
        globex=create_api_key(principal_for_user(bob, "globex"), name="ci")[1],
    )


@pytest.fixture
def address(transactional_db: None) -> Iterator[str]:
    with serving(build_api_server("127.0.0.1:0", max_workers=8), 1.0) as address:
        yield address


@pytest.fixture
def connect(address: str) -> Iterator[Callable[[str], Client]]:
    clients: list[Client] = []

    def make(api_key: str) -> Client:
        client = Client(ClientConfig(server=address, api_key=api_key, timeout=60))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def acme(keys: Keys, connect: Callable[[str], Client]) -> Client:
    return connect(keys.acme)


@pytest.fixture
def globex(keys: Keys, connect: Callable[[str], Client]) -> Client:
    return connect(keys.globex)
