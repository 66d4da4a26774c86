"""`dojo audit`: the audit log (owners and admins of an organization; operators: any).

    dojo audit list [--org ORG | --all] [--action member.] [--actor alice]
                    [--since 2026-01-01 | --since 7d] [--until ...] [--limit N] [-o json]

--action is an event name (key.created) or a prefix ending in "." (member.); --actor a
substring of who did it; --since and --until an ISO date or time (UTC unless it says
otherwise) or an age: 30m, 24h, 7d. `-o json` prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from dojo import render
from dojo.client import Client
from dojo.v1 import audit_pb2

AddCommon = Callable[[argparse.ArgumentParser], None]
_AGE = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_PAGE = 500
CHANGE_WIDTH = 70


def when(raw: str) -> datetime:
    """An ISO date or time (naive: UTC), or an age before now ("7d")."""
    text = raw.strip()
    age = _AGE.match(text)
    if age is not None:
        return datetime.now(UTC) - timedelta(**{_UNITS[age["unit"]]: int(age["n"])})
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r}: expected an ISO date or time (2026-01-31, 2026-01-31T12:00) "
            "or an age (30m, 24h, 7d)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
) -> None:
    """Adds `dojo audit ...` to the top-level parser's groups."""
    audit = groups.add_parser(
        "audit",
        help="the audit log: who changed what, when, from where",
        description=__doc__,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = audit.add_subparsers(dest="command", required=True)
    listing = commands.add_parser(
        "list", help="audit events, newest first", description=__doc__, epilog=epilog
    )
    common(listing)
    listing.set_defaults(run=cmd_list)
    where = listing.add_mutually_exclusive_group()
    where.add_argument("--org", default="", help="organization slug (default: the key's)")
    where.add_argument(
        "--all", action="store_true", help="every organization, fleet and sign-ins (operators)"
    )
    listing.add_argument("--action", default="", help="event name, or a prefix ending in '.'")
    listing.add_argument("--actor", default="", help="substring of who did it")
    listing.add_argument("--since", type=when, help="at or after: ISO date/time or age (7d)")
    listing.add_argument("--until", type=when, help="before: ISO date/time or age")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (0: all)")


def _parent(args: argparse.Namespace) -> str:
    if args.all:
        return "organizations/-"
    return f"organizations/{args.org.strip()}" if args.org.strip() else ""


def cmd_list(client: Client, args: argparse.Namespace, output: str) -> int:
    events: list[audit_pb2.AuditEvent] = []
    size = min(args.limit, MAX_PAGE) if args.limit > 0 else MAX_PAGE
    for event in client.list_audit_events(
        parent=_parent(args),
        action=args.action,
        actor=args.actor,
        since=args.since,
        until=args.until,
        page_size=size,
    ):
        events.append(event)
        if 0 < args.limit <= len(events):
            break
    print(render_events(events, output))
    return 0


# --- rendering -----------------------------------------------------------------------------


def _loads(text: str) -> object:
    return json.loads(text) if text else None


def event_dict(e: audit_pb2.AuditEvent) -> dict[str, object]:
    """One event as plain JSON, its before and after as objects (not JSON in a string)."""
    return {
        "id": e.id,
        "time": e.time.ToDatetime(tzinfo=UTC).isoformat(),
        "organization": e.organization,
        "actor": e.actor,
        "source": e.source,
        "action": e.action,
        "target": e.target,
        "before": _loads(e.before_json),
        "after": _loads(e.after_json),
    }


def _short(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def change(before: object, after: object) -> str:
    """What changed, briefly: "role: member → admin" per changed key, or the new state."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        parts = [
            f"{k}: {_short(before.get(k))} → {_short(after.get(k))}"
            for k in keys
            if before.get(k) != after.get(k)
        ]
        text = "; ".join(parts)
    elif after is not None:
        text = _short(after)
    elif before is not None:
        text = f"was {_short(before)}"
    else:
        text = ""
    return text if len(text) <= CHANGE_WIDTH else text[: CHANGE_WIDTH - 1] + "…"


def _row(e: audit_pb2.AuditEvent) -> tuple[str, ...]:
    d = event_dict(e)
    return (
        e.time.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
        e.organization.removeprefix("organizations/") or "-",
        e.actor,
        e.source or "-",
        e.action,
        e.target,
        change(d["before"], d["after"]),
    )


def render_events(events: Sequence[audit_pb2.AuditEvent], output: str = "text") -> str:
    if output == "json":
        return "\n".join(json.dumps(event_dict(e), sort_keys=True) for e in events)
    if not events:
        return "no audit events"
    header = ("TIME", "ORG", "ACTOR", "SOURCE", "ACTION", "TARGET", "CHANGE")
    return render._table([header, *(_row(e) for e in events)])
