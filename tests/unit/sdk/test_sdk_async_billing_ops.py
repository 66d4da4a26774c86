"""`dojo.AsyncBillingClient` and `dojo.AsyncOperatorClient` against the fake BillingService
and SchedulerService of the sync clients' tests, on real gRPC servers (port 0): the same
answers as the sync clients, reads retried on UNAVAILABLE with a deadline, actions sent
once, failures as typed errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

import dojo.retrying
from dojo import AsyncBillingClient, AsyncOperatorClient, BillingClient, errors
from dojo.config import ClientConfig
from dojo.v1 import billing_pb2_grpc, scheduler_pb2_grpc
from tests.support.grpc_server import serving_fake
from tests.unit.sdk.test_sdk_billing import FakeBilling
from tests.unit.sdk.test_sdk_operator import KEY, FakeScheduler

T = TypeVar("T")


def run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


@pytest.fixture
def billing_address() -> Iterator[str]:
    with serving_fake(billing_pb2_grpc.add_BillingServiceServicer_to_server, FakeBilling()) as a:
        yield a


@pytest.fixture
def fake_ops(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeScheduler, str]]:
    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)
    service = FakeScheduler()
    add = scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server
    with serving_fake(add, service) as address:
        yield service, address


def test_billing_answers_as_the_sync_client_does(billing_address: str) -> None:
    config = ClientConfig(server=billing_address, api_key="k", timeout=5)

    async def scenario() -> None:
        async with AsyncBillingClient(config) as b:
            with BillingClient(config) as sync:
                assert await b.get_usage(month="2031-03") == sync.get_usage(month="2031-03")
                assert await b.list_invoices() == sync.list_invoices()
                assert (await b.export_invoice("2031-01")).csv.endswith("total,10.01\n")
            budget = await b.set_budget("100", alerts=[80])
            assert (budget.monthly_usd, list(budget.alert_percents)) == ("100.000000", [80])
            assert (await b.get_budget()).remaining_usd == "60.000000"
            with pytest.raises(errors.NotFoundError):
                await b.get_invoice("2031-02")
            with pytest.raises(errors.InvalidArgumentError):
                await b.set_budget("-1")

    run(scenario)


def test_operator_reads_retry_with_a_deadline_and_actions_go_once(
    fake_ops: tuple[FakeScheduler, str],
) -> None:
    service, address = fake_ops

    async def scenario() -> None:
        async with AsyncOperatorClient(ClientConfig(server=address, api_key=KEY, timeout=5)) as o:
            service.unavailable_next = 2
            assert len((await o.get_capacity()).tiles) == 6
            assert service.calls == ["GetCapacity"] * 3
            assert all(d is not None and 0 < d <= 5.5 for d in service.deadlines)
            service.unavailable_next = 1
            with pytest.raises(errors.UnavailableError):
                await o.drain("dojo/e0/c0/t0")
            assert service.calls[3:] == ["Drain"]
            placed = await o.preempt_job("organizations/acme/jobs/j1", reason="maintenance")
            assert placed.preempt_requested and service.names == ["organizations/acme/jobs/j1"]
        async with AsyncOperatorClient(ClientConfig(server=address, api_key="nope")) as other:
            with pytest.raises(errors.PermissionDeniedError):
                await other.get_capacity()

    run(scenario)
