"""`dojo billing`: the organization's spend and invoices (an owner's or admin's key).

dojo billing usage [--month YYYY-MM]     this month's (or that month's) spend
dojo billing invoices                    every invoice, newest first
dojo billing invoice YYYY-MM [--csv]     one invoice's lines (or its CSV)
dojo billing prices [--history]          the price book
dojo billing budget                      the monthly budget and this month's spend
dojo billing budget set --monthly USD [--alerts 50,80,100] [--no-hard-cap]
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
    budget = command("budget", "show the monthly budget, or `budget set` it", cmd_budget)
    budget.add_argument("action", nargs="?", choices=("set",), help="set the budget")
    budget.add_argument("--monthly", help="set: the monthly budget in USD ('' removes it)")
    budget.add_argument(
        "--alerts", default="", help="set: alert thresholds in percent, e.g. 50,80,100"
    )
    budget.add_argument(
        "--no-hard-cap", action="store_true", help="set: alerts only, never stop jobs"
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


def parse_alerts(text: str) -> list[int]:
    """ "50,80,100" -> [50, 80, 100]; the server checks the range."""
    try:
        return [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise SystemExit(
            f"dojo billing budget set: --alerts takes percents like 50,80,100, got {text!r}"
        ) from None


def render_budget(b: pb.Budget) -> str:
    if not b.monthly_usd:
        return f"no budget set for {b.organization}; spent USD {b.spent_usd} in {b.month}"
    used = Decimal(b.spent_usd) / Decimal(b.monthly_usd) * 100
    cap = "hard cap: jobs stop at it" if b.hard_cap else "alerts only"
    lines = [
        f"budget:    USD {Decimal(b.monthly_usd):.2f} a month ({cap})",
        f"month:     {b.month} (UTC)",
        f"spent:     USD {Decimal(b.spent_usd):.2f} ({used:.1f}%)",
        f"left:      USD {Decimal(b.remaining_usd):.2f}",
        f"alerts:    {', '.join(f'{p}%' for p in b.alert_percents)}"
        + (
            f" (sent: {', '.join(f'{p}%' for p in b.alerted_percents)})"
            if b.alerted_percents
            else ""
        ),
    ]
    if b.cap_reached:
        lines.append("CAP REACHED: jobs are held (BUDGET_EXHAUSTED) until it is raised")
    return "\n".join(lines)


def cmd_budget(client: BillingClient, args: argparse.Namespace, output: str) -> int:
    if args.action == "set":
        if args.monthly is None:
            print("dojo billing budget set: --monthly USD is required", file=sys.stderr)
            return 2
        budget = client.set_budget(
            args.monthly, alerts=parse_alerts(args.alerts), hard_cap=not args.no_hard_cap
        )
    elif args.monthly is not None or args.alerts or args.no_hard_cap:
        print("dojo billing budget: use `dojo billing budget set --monthly USD`", file=sys.stderr)
        return 2
    else:
        budget = client.get_budget()
    print(_json(budget) if output == "json" else render_budget(budget))
    return 0
