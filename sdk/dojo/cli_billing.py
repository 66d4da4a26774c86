"""`dojo billing`: the organization's spend and invoices (an owner's or admin's key).

dojo billing usage [--month YYYY-MM]     this month's (or that month's) spend
dojo billing invoices                    every invoice, newest first
dojo billing invoice YYYY-MM [--csv]     one invoice's lines (or its CSV)
dojo billing prices [--history]          the price book
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal

from google.protobuf import json_format
from google.protobuf.message import Message

from dojo.billing import BillingClient
from dojo.cli_groups import AddCommon, command_group
from dojo.v1 import billing_pb2 as pb


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
) -> None:
    """Adds `dojo billing ...` to the top-level parser's groups."""
    command = command_group(
        groups,
        common,
        epilog,
        name="billing",
        help="spend, invoices and prices",
        description=__doc__,
        client_class=BillingClient,
    )

    command("usage", "a month's spend by pool, forecast and top jobs", cmd_usage).add_argument(
        "--month", default="", help="YYYY-MM (UTC); default this month"
    )
    command("invoices", "every invoice, newest first", cmd_invoices)
    invoice = command("invoice", "one month's invoice with its lines", cmd_invoice)
    invoice.add_argument("month", help="YYYY-MM")
    invoice.add_argument("--csv", action="store_true", help="print the invoice as CSV")
    command("prices", "the price book (USD per device-second)", cmd_prices).add_argument(
        "--history", action="store_true", help="every entry, not only those in force"
    )


def _json(data: Message | Sequence[Message]) -> str:
    def one(m: Message) -> object:
        return json_format.MessageToDict(m, preserving_proto_field_name=True)

    return json.dumps(one(data) if isinstance(data, Message) else [one(m) for m in data], indent=2)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def render_usage(u: pb.MonthUsage) -> str:
    lines = [
        f"month:     {u.month} ({u.invoice_status or 'no usage'})",
        f"spend:     USD {u.total_usd}",
        f"forecast:  USD {u.forecast_usd} by the month's end",
    ]
    if u.pools:
        lines += ["", _table([("pool", "USD")] + [(p.pool, p.total_usd) for p in u.pools])]
    if u.top_jobs:
        rows = [("job", "name", "device-seconds", "USD")] + [
            (j.job, j.job_name, j.device_seconds, j.amount_usd) for j in u.top_jobs
        ]
        lines += ["", _table(rows)]
    return "\n".join(lines)


def render_invoices(invoices: Sequence[pb.Invoice]) -> str:
    if not invoices:
        return "no invoices yet"
    rows = [("month", "number", "status", "USD")] + [
        (i.month, i.number, i.status, i.total_usd) for i in invoices
    ]
    return _table(rows)


def render_invoice(i: pb.Invoice) -> str:
    head = f"invoice {i.number} for {i.month} ({i.status}): USD {i.total_usd}"
    rows = [("#", "kind", "description", "quantity", "unit", "rate", "USD")] + [
        (
            str(ln.position),
            ln.kind,
            ln.description,
            ln.quantity,
            ln.unit,
            ln.rate_usd,
            ln.amount_usd,
        )
        for ln in i.lines
    ]
    total = sum((Decimal(ln.amount_usd) for ln in i.lines), Decimal(0))
    return "\n".join([head, "", _table(rows), "", f"total: USD {total:.2f}"])


def cmd_usage(client: BillingClient, args: argparse.Namespace, output: str) -> int:
    usage = client.get_usage(month=args.month)
    print(_json(usage) if output == "json" else render_usage(usage))
    return 0


def cmd_invoices(client: BillingClient, args: argparse.Namespace, output: str) -> int:
    invoices = client.list_invoices()
    print(_json(invoices) if output == "json" else render_invoices(invoices))
    return 0


def cmd_invoice(client: BillingClient, args: argparse.Namespace, output: str) -> int:
    if args.csv:
        sys.stdout.write(client.export_invoice(args.month).csv)
        return 0
    invoice = client.get_invoice(args.month)
    print(_json(invoice) if output == "json" else render_invoice(invoice))
    return 0


def cmd_prices(client: BillingClient, args: argparse.Namespace, output: str) -> int:
    prices = client.list_prices(history=args.history)
    if output == "json":
        print(_json(prices))
        return 0
    rows = [("pool", "from", "on demand", "preemptible", "hardware")] + [
        (
            p.pool,
            p.effective_time.ToDatetime().strftime("%Y-%m-%d %H:%M"),
            p.on_demand_usd_per_device_second,
            p.preemptible_usd_per_device_second,
            p.hardware,
        )
        for p in prices
    ]
    print(_table(rows) + "\n(USD per device-second)")
    return 0
