"""`dojo billing` against a fake BillingService on a real gRPC server (port 0). That every
RPC has a client method: test_sdk_every_rpc.py."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import grpc
import pytest

from dojo import cli
from dojo.v1 import billing_pb2 as pb
from dojo.v1 import billing_pb2_grpc
from tests.support.grpc_server import serving_fake

INVOICE = pb.Invoice(
    name="organizations/acme/invoices/2031-01",
    month="2031-01",
    status="final",
    number="DC-000001",
    total_usd="10.25",
    lines=[
        pb.InvoiceLine(
            position=1,
            kind="usage",
            description="a on dojo",
            quantity="1000.5",
            unit="device-second",
            rate_usd="0.01",
            amount_usd="10.01",
        ),
        pb.InvoiceLine(position=1000001, kind="adjustment", description="fee", amount_usd="0.24"),
    ],
)


class FakeBilling(billing_pb2_grpc.BillingServiceServicer):
    def GetUsage(self, request, context):
        return pb.MonthUsage(
            month=request.month or "2031-02",
            total_usd="3.00",
            forecast_usd="9.00",
            invoice_status="draft",
            pools=[pb.PoolDay(pool="dojo", total_usd="3.00")],
        )

    def ListInvoices(self, request, context):
        return pb.ListInvoicesResponse(invoices=[INVOICE])

    def GetInvoice(self, request, context):
        if request.month != "2031-01":
            context.abort(grpc.StatusCode.NOT_FOUND, f"organizations/acme/invoices/{request.month}")
        return INVOICE

    budget = pb.Budget(organization="organizations/acme", month="2031-02", spent_usd="40.000000")

    def GetBudget(self, request, context):
        return self.budget

    def SetBudget(self, request, context):
        if request.monthly_usd == "-1":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "monthly_usd: must be more than 0")
        self.budget = pb.Budget(
            organization="organizations/acme",
            month="2031-02",
            monthly_usd=f"{Decimal(request.monthly_usd):.6f}",
            alert_percents=list(request.alert_percents) or [50, 80, 100],
            hard_cap=not request.no_hard_cap,
            spent_usd="40.000000",
            remaining_usd=f"{max(Decimal(request.monthly_usd) - 40, Decimal(0)):.6f}",
            cap_reached=Decimal(request.monthly_usd) <= 40 and not request.no_hard_cap,
            alerted_percents=[50],
        )
        return self.budget

    def ExportInvoice(self, request, context):
        return pb.InvoiceExport(filename="x.csv", csv="kind,amount_usd\nusage,10.01\ntotal,10.01\n")


@pytest.fixture
def address() -> Iterator[str]:
    add = billing_pb2_grpc.add_BillingServiceServicer_to_server
    with serving_fake(add, FakeBilling()) as addr:
        yield addr


def run(address: str, *argv: str) -> int:
    return cli.main(["billing", *argv, "--server", address, "--api-key", "k", "--insecure"])


def test_the_cli_shows_usage_invoices_and_csv(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(address, "usage", "--month", "2031-02") == 0
    out = capsys.readouterr().out
    assert "USD 3.00" in out and "USD 9.00" in out and "dojo" in out
    assert run(address, "invoices") == 0
    assert "DC-000001" in capsys.readouterr().out
    assert run(address, "invoice", "2031-01") == 0
    out = capsys.readouterr().out
    assert "total: USD 10.25" in out and Decimal("10.01") + Decimal("0.24") == Decimal("10.25")
    assert run(address, "invoice", "2031-01", "--csv") == 0
    assert capsys.readouterr().out.endswith("total,10.01\n")
    assert run(address, "invoice", "2030-12") != 0
    assert "invoices/2030-12" in capsys.readouterr().err


def test_the_cli_shows_and_sets_the_budget(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(address, "budget") == 0
    assert "no budget set for organizations/acme" in capsys.readouterr().out
    assert run(address, "budget", "set", "--monthly", "50", "--alerts", "50,90") == 0
    out = capsys.readouterr().out
    assert "USD 50.00 a month (hard cap" in out and "spent:     USD 40.00 (80.0%)" in out
    assert "alerts:    50%, 90% (sent: 50%)" in out and "CAP REACHED" not in out
    assert run(address, "budget", "set", "--monthly", "30") == 0
    assert "CAP REACHED" in capsys.readouterr().out
    assert run(address, "budget") == 0
    assert "left:      USD 0.00" in capsys.readouterr().out
    assert run(address, "budget", "set") == 2
    assert "--monthly USD is required" in capsys.readouterr().err
    assert run(address, "budget", "--monthly", "5") == 2
    assert run(address, "budget", "set", "--monthly", "-1") != 0
    assert "monthly_usd" in capsys.readouterr().err
    assert run(address, "budget", "set", "--monthly", "60", "--no-hard-cap", "-o", "json") == 0
    assert '"monthly_usd": "60.000000"' in capsys.readouterr().out
