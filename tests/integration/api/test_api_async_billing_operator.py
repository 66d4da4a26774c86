"""`dojo.AsyncBillingClient` and `dojo.AsyncOperatorClient` against the real API server
(port 0, this process, the test database): an owner reads the month's usage (a recorded
segment's cost) and sets and reads the budget, answered as the sync BillingClient is; an
operator reads capacity and the queue and drains and undrains a tile; typed errors: another
organization's usage and budget NOT_FOUND, a viewer's budget change and a customer's
operator call PERMISSION_DENIED, a drain of no target INVALID_ARGUMENT naming it, of an
unknown one NOT_FOUND."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from dojo import AsyncBillingClient, AsyncOperatorClient, BillingClient, errors
from dojo.config import ClientConfig
from dojocloud.common.inventory import inventory
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Device
from dojocloud.tenancy.models import Role
from dojocloud.tenancy.services import (
    add_member,
    create_api_key,
    create_organization,
    principal_for_user,
)
from tests.support.ledger_rows import spend
from tests.support.people import make_spec

pytestmark = pytest.mark.django_db(transaction=True)
T = TypeVar("T")
TILE = "dojo/e0/c0/t0/r0c0"


def run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


def config(address: str, api_key: str) -> ClientConfig:
    return ClientConfig(server=address, api_key=api_key, timeout=30)


@dataclass(frozen=True)
class People:
    operator: str  # owner of the operator organization
    acme: str  # owner of acme
    acme_viewer: str
    globex: str  # owner of another organization
    acme_job: Job


@pytest.fixture
def people(transactional_db: None) -> People:
    olga, alice, vera, bob = (User.objects.create_user(n) for n in ("olga", "alice", "vera", "bob"))
    create_organization("operators", "Operators", olga)
    acme = create_organization("acme", "Acme", alice)
    add_member(acme, vera, Role.VIEWER)
    create_organization("globex", "Globex", bob)
    capacity.sync_inventory(inventory())
    job = jobs.create_job(principal_for_user(alice, "acme"), make_spec("billed"))
    return People(
        operator=create_api_key(principal_for_user(olga, "operators"), name="ops")[1],
        acme=create_api_key(principal_for_user(alice, "acme"), name="ci")[1],
        acme_viewer=create_api_key(principal_for_user(vera, "acme"), name="ro")[1],
        globex=create_api_key(principal_for_user(bob, "globex"), name="ci")[1],
        acme_job=job,
    )


def test_usage_and_budget_with_the_async_billing_client(address: str, people: People) -> None:
    spend(people.acme_job, 250_000)  # $0.25

    async def scenario() -> None:
        async with AsyncBillingClient(config(address, people.acme)) as acme:
            usage = await acme.get_usage()
            assert usage.month == f"{timezone.now():%Y-%m}"
            assert Decimal(usage.total_usd) == Decimal("0.25")
            assert [j.job_name for j in usage.top_jobs] == ["billed"]
            budget = await acme.set_budget("10", alerts=[80, 50])
            assert budget.monthly_usd == "10.000000" and list(budget.alert_percents) == [50, 80]
            read = await acme.get_budget()
            assert Decimal(read.spent_usd) == Decimal("0.25")
            assert Decimal(read.remaining_usd) == Decimal("9.75")
            with BillingClient(config(address, people.acme)) as sync:  # the same request
                assert sync.get_usage() == usage and sync.get_budget() == read

        async with AsyncBillingClient(config(address, people.globex)) as globex:
            with pytest.raises(errors.NotFoundError):
                await globex.get_usage(parent="organizations/acme")
            with pytest.raises(errors.NotFoundError):
                await globex.set_budget("1", parent="organizations/acme")
            assert Decimal((await globex.get_usage()).total_usd or "0") == 0  # its own
        async with AsyncBillingClient(config(address, people.acme_viewer)) as viewer:
            with pytest.raises(errors.PermissionDeniedError):
                await viewer.set_budget("1")
        async with AsyncBillingClient(config(address, people.acme)) as acme:
            with pytest.raises(errors.InvalidArgumentError) as bad:
                await acme.set_budget("12.3456789")
            assert [v.field for v in bad.value.field_violations] == ["monthly_usd"]
            assert (await acme.get_budget()).monthly_usd == "10.000000"  # unchanged

    run(scenario)


def test_capacity_queue_and_drain_with_the_async_operator_client(
    address: str, people: People
) -> None:
    async def scenario() -> None:
        async with AsyncOperatorClient(config(address, people.operator)) as ops:
            before = await ops.get_capacity(pool="dojo")
            tile = next(t for t in before.tiles if t.id == TILE)
            assert tile.state == "free" and {t.pool for t in before.tiles} == {"dojo"}
            queue = await ops.list_queue()
            assert queue.total == 1 and [j.job for j in queue.jobs] == [
                f"organizations/acme/jobs/{people.acme_job.id}"
            ]
            drained = await ops.drain(TILE, reason="fan swap")
            assert (drained.target, drained.devices) == (TILE, 1)
            after = await ops.get_capacity(pool="dojo")
            assert next(t for t in after.tiles if t.id == TILE).state == "draining"
            await ops.undrain(TILE, reason="fan swapped")
            again = await ops.get_capacity(pool="dojo")
            assert next(t for t in again.tiles if t.id == TILE).state == "free"
            with pytest.raises(errors.NotFoundError):
                await ops.drain("dojo/e7", reason="no such exapod")
            with pytest.raises(errors.InvalidArgumentError) as bad:
                await ops.drain("")
            assert [v.field for v in bad.value.field_violations] == ["target"]

        async with AsyncOperatorClient(config(address, people.acme)) as customer:
            with pytest.raises(errors.PermissionDeniedError):
                await customer.get_capacity()
            with pytest.raises(errors.PermissionDeniedError):  # an action, sent once
                await customer.drain(TILE)

    run(scenario)  # the ORM stays outside the event loop (Django refuses it there)
    assert Device.objects.get(id=TILE).status == "free"
