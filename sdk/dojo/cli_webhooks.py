"""`dojo webhooks`: the organization's webhook endpoints (owners and admins).

    dojo webhooks add URL [--event job.failed ...] [--description TEXT]   prints the secret once
    dojo webhooks list          dojo webhooks test NAME          dojo webhooks delete NAME
    dojo webhooks deliveries NAME

Events: job.succeeded, job.failed, job.cancelled, billing.budget_alert, invoice.finalized
(none given: all). Each delivery is signed (Dojo-Signature); check it with
dojo.webhooks.verify(body, header, secret). NAME is organizations/{org}/webhooks/{id}, or the id.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.message import Message

from dojo.cli_groups import AddCommon, command_group
from dojo.client import Client
from dojo.v1 import webhook_pb2


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
) -> None:
    """Adds `dojo webhooks ...` to the top-level parser's groups."""
    command = command_group(
        groups,
        common,
        epilog,
        name="webhooks",
        help="add, list, test and delete webhook endpoints",
        description=__doc__,
        client_class=Client,
    )
    add = command("add", "add an endpoint; prints its signing secret, once", cmd_add)
    add.add_argument("url", help="https://... receiving the events")
    add.add_argument(
        "--event", action="append", default=[], dest="events", help="an event type (repeat)"
    )
    add.add_argument("--description", default="")
    command("list", "the organization's endpoints", cmd_list)
    for name, help, run in (
        ("test", "send a test event to an endpoint", cmd_test),
        ("delete", "delete an endpoint (nothing more is sent to it)", cmd_delete),
        ("deliveries", "an endpoint's deliveries and what it answered", cmd_deliveries),
    ):
        command(name, help, run).add_argument("name", help="organizations/{org}/webhooks/{id}")


def _dict(m: Message) -> dict[str, object]:
    return json_format.MessageToDict(m, preserving_proto_field_name=True)


def cmd_add(client: Client, args: argparse.Namespace, output: str) -> int:
    made = client.create_webhook(args.url, event_types=args.events, description=args.description)
    if output == "json":
        print(json.dumps(_dict(made), indent=2))
    else:
        print(f"{made.webhook.name}\nsecret: {made.secret}\n(shown once: keep it to verify)")
    return 0


def cmd_list(client: Client, args: argparse.Namespace, output: str) -> int:
    print(listing(client.list_webhooks(), output))
    return 0


def cmd_test(client: Client, args: argparse.Namespace, output: str) -> int:
    sent = client.test_webhook(args.name)
    shown = json.dumps(_dict(sent), indent=2)
    print(shown if output == "json" else f"test event {sent.event_id} queued ({sent.status})")
    return 0


def cmd_delete(client: Client, args: argparse.Namespace, output: str) -> int:
    client.delete_webhook(args.name)
    print(json.dumps({"deleted": args.name}) if output == "json" else f"deleted {args.name}")
    return 0


def cmd_deliveries(client: Client, args: argparse.Namespace, output: str) -> int:
    print(deliveries(client.list_webhook_deliveries(args.name), output))
    return 0


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def listing(items: Sequence[webhook_pb2.Webhook], output: str) -> str:
    if output == "json":
        return json.dumps([_dict(w) for w in items], indent=2)
    if not items:
        return "no webhooks"
    rows = [("NAME", "URL", "EVENTS", "SECRET")]
    rows += [(w.name, w.url, ",".join(w.event_types), w.secret_hint + "...") for w in items]
    return _table(rows)


def deliveries(items: Sequence[webhook_pb2.WebhookDelivery], output: str) -> str:
    if output == "json":
        return json.dumps([_dict(d) for d in items], indent=2)
    if not items:
        return "no deliveries"
    rows = [("EVENT", "TYPE", "STATUS", "ATTEMPTS", "ANSWER")]
    for d in items:
        answer = f"HTTP {d.response_code}" if d.response_code else (d.error or "-")
        rows.append((d.event_id, d.event_type, d.status, str(d.attempts), answer))
    return _table(rows)
