"""`dojo ops`: operator commands over the SchedulerService (needs an operator key).

    dojo ops capacity [--pool P]            dojo ops queue [--pool P] [--limit N]
    dojo ops drain TARGET [--evict]         dojo ops undrain TARGET
    dojo ops fail TARGET                    dojo ops preempt JOB     dojo ops requeue JOB
    dojo ops quota get TENANT POOL          dojo ops quota list [--tenant T]
    dojo ops quota set TENANT POOL [--nominal N] [--borrowing-limit N|none] ...

TARGET is a tile ("dojo/e0/c0/t0/r0c1"), a tray ("dojo/e0/c0/t0") or a GPU node
("gpu-a100/n0"); JOB is organizations/{org}/jobs/{job}. Actions take --reason, recorded
with the operator's name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from dojo import render
from dojo.errors import NotFoundError
from dojo.operator import OperatorClient
from dojo.v1 import scheduler_pb2 as pb

AddCommon = Callable[[argparse.ArgumentParser], None]


def register(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    common: AddCommon,
    epilog: str,
) -> None:
    """Adds `dojo ops ...` to the top-level parser's groups."""
    ops = groups.add_parser(
        "ops",
        help="operator commands: capacity, queue, drain, quotas",
        description=__doc__,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = ops.add_subparsers(dest="command", required=True)

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        help: str,
        run: Callable[..., int],
    ) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help, description=help, epilog=epilog)
        common(sub)
        sub.set_defaults(run=run, client_class=OperatorClient)
        return sub

    command(
        commands, "capacity", "tiles per tray, GPU nodes and pool totals", cmd_capacity
    ).add_argument("--pool", default="", help="only this pool")
    queue = command(commands, "queue", "waiting jobs in queue order", cmd_queue)
    queue.add_argument("--pool", default="", help="only this pool")
    queue.add_argument("--limit", type=int, default=100, help="at most this many (max 1000)")
    for name, help, run in (
        ("drain", "place nothing new on TARGET", cmd_drain),
        ("undrain", "return TARGET to service", cmd_undrain),
        ("fail", "mark TARGET failed; its jobs are requeued", cmd_fail),
    ):
        sub = command(commands, name, help, run)
        sub.add_argument("target", help="tile, tray or GPU node id")
        sub.add_argument("--reason", default="", help="recorded with the action")
        if name == "drain":
            sub.add_argument(
                "--evict", action="store_true", help="running jobs checkpoint and move now"
            )
    for name, help, run in (
        ("preempt", "checkpoint a job, then back to the queue", cmd_preempt),
        ("requeue", "back to the queue now, from its last checkpoint", cmd_requeue),
    ):
        sub = command(commands, name, help, run)
        sub.add_argument(
            "job",
            type=tenant_job_name,
            help="organizations/{org}/jobs/{job} or {org}/{job}; {job} is the job's name "
            "(unique in its organization), id or id prefix",
        )
        sub.add_argument("--reason", default="", help="recorded with the action")
    _register_quota(commands, command)


def _register_quota(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    command: Callable[..., argparse.ArgumentParser],
) -> None:
    quota = commands.add_parser("quota", help="tenants' quotas per pool")
    sub = quota.add_subparsers(dest="quota_command", required=True)
    get = command(sub, "get", "a tenant's quota in a pool", cmd_quota_get)
    get.add_argument("tenant")
    get.add_argument("pool")
    command(sub, "list", "quotas, of every tenant or one", cmd_quota_list).add_argument(
        "--tenant", default="", help="only this tenant"
    )
    put = command(
        sub, "set", "set a quota; options not given keep their current value", cmd_quota_set
    )
    put.add_argument("tenant")
    put.add_argument("pool")
    put.add_argument("--nominal", type=int, help="devices guaranteed")
    put.add_argument("--borrowing-limit", type=_limit, help="devices beyond nominal; 'none'")
    put.add_argument("--lending-limit", type=_limit, help="devices lent to others; 'none'")
    put.add_argument("--cohort", help="tenants who borrow from each other")
    put.add_argument("--weight", type=float, help="fair-share weight")
    put.add_argument("--reason", default="", help="recorded with the change")


NO_LIMIT = -1


def _limit(raw: str) -> int:
    if raw.strip().lower() in ("none", "unlimited"):
        return NO_LIMIT
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more, or 'none'")
    return value


# --- commands -------------------------------------------------------------------------------


def cmd_capacity(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.capacity(ops.get_capacity(pool=args.pool), output))
    return 0


def cmd_queue(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.queue(ops.list_queue(pool=args.pool, page_size=args.limit), output))
    return 0


def cmd_drain(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    result = ops.drain(args.target, evict=args.evict, reason=args.reason)
    print(render.operation("drained", result, output))
    return 0


def cmd_undrain(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.operation("undrained", ops.undrain(args.target, reason=args.reason), output))
    return 0


def cmd_fail(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    result = ops.mark_failed(args.target, reason=args.reason)
    print(render.operation("marked failed", result, output))
    return 0


def tenant_job_name(ref: str) -> str:
    """`{org}/{job}` → `organizations/{org}/jobs/{job}`; a full name passes unchanged (the
    server resolves {job} within {org}: name, id or id prefix)."""
    ref = ref.strip()
    parts = ref.split("/")
    if len(parts) == 2 and all(parts):
        return f"organizations/{parts[0]}/jobs/{parts[1]}"
    return ref


def cmd_preempt(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.placement(ops.preempt_job(args.job, reason=args.reason), output))
    return 0


def cmd_requeue(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.placement(ops.requeue_job(args.job, reason=args.reason), output))
    return 0


def cmd_quota_get(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.quota(ops.get_quota(args.tenant, args.pool), output))
    return 0


def cmd_quota_list(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    print(render.quota_list(ops.list_quotas(tenant=args.tenant), output))
    return 0


def cmd_quota_set(ops: OperatorClient, args: argparse.Namespace, output: str) -> int:
    """SetQuota replaces the whole quota, so start from the current one (if any)."""
    try:
        quota = ops.get_quota(args.tenant, args.pool)
    except NotFoundError:
        quota = pb.Quota(tenant=args.tenant, pool=args.pool)
    quota.ClearField("decayed_usage")
    quota.ClearField("update_time")
    quota.ClearField("updated_by")
    for field in ("nominal", "cohort", "weight"):
        if getattr(args, field) is not None:
            setattr(quota, field, getattr(args, field))
    for field in ("borrowing_limit", "lending_limit"):
        value = getattr(args, field)
        if value == NO_LIMIT:
            quota.ClearField(field)
        elif value is not None:
            setattr(quota, field, value)
    print(render.quota(ops.set_quota(quota, reason=args.reason), output))
    return 0
